/**
 * The Pub/Sub API (`eventbus.v1.PubSub`) over gRPC, served from the org's event bus: GetTopic, GetSchema,
 * Subscribe (pull-based, exact `num_requested` credit, keepalives carrying `latest_replay_id`), Publish,
 * PublishStream and ManagedSubscribe (the position kept by the server: see `../managed.ts`; commits are
 * answered in a FetchResponse without events that carries `commit_response`).
 *
 * Auth is checked on every call like Salesforce checks it: metadata `accesstoken` (a live emulator session),
 * `instanceurl` (a URL; when the server knows the emulator's URL, its origin) and `tenantid` (the org id, 15 or
 * 18 characters). Failures are gRPC statuses with the Salesforce `error-code` trailer and a description
 * ending in `rpcId: {uuid}`. For topic errors, whose codes Salesforce does not document, only the status
 * (NOT_FOUND, PERMISSION_DENIED) and the description are sent.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Emulator } from '../../app.ts';
import { orgWriteLock } from '../../composite/write-lock.ts';
import type { Session } from '../../oauth/sessions.ts';
import { decodeReplayId, encodeReplayId } from '../avro.ts';
import { managedSubscriptions, type ManagedSubscription } from '../managed.ts';
import { resolveTopic, schemas, toConsumerEvent, topicSchema, type Topic } from '../topics.ts';

/** The keepalive interval: an empty FetchResponse at least this often while nothing is delivered. */
export const DEFAULT_KEEPALIVE_MS = 270_000;
/** The most events one FetchRequest may ask for. */
export const MAX_NUM_REQUESTED = 100;
/** The Pub/Sub port the emulator CLI uses unless told otherwise (Salesforce's is 7443). */
export const DEFAULT_PUBSUB_PORT = 7443;

export const ERROR_CODES = {
  auth: 'sfdc.platform.eventbus.grpc.service.auth.error',
  authRefresh: 'sfdc.platform.eventbus.grpc.service.auth.refresh.invalid',
  replayCorrupted: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
  replayValidation: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed',
  requestedInvalid: 'sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid',
  limitExceeded: 'sfdc.platform.eventbus.grpc.subscription.limit.exceeded',
} as const;

export interface PubSubOptions {
  port?: number;
  host?: string;
  /** PEM certificate and key: the server speaks TLS (clients written for Salesforce always do). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Empty-FetchResponse interval (default 270 s); tests make it short. */
  keepaliveMs?: number;
  /** The emulator's instance URL; when set, `instanceurl` metadata must have its origin. */
  instanceUrl?: string;
}

export interface PubSubServer {
  host: string;
  port: number;
  /** `host:port`, what a Pub/Sub client takes as its endpoint. */
  address: string;
  tls: boolean;
  /** Counters for tests and the admin view: events delivered, keepalives sent, streams open. */
  stats: { delivered: number; keepalives: number; faultDrops: number; subscriptions: number; publishStreams: number };
  close(): Promise<void>;
}

const PROTO_PATH = fileURLToPath(new URL('./pubsub_api.proto', import.meta.url));

function loadService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: Number, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { eventbus: { v1: { PubSub: { service: grpc.ServiceDefinition } } } };
  return pkg.eventbus.v1.PubSub.service;
}

/** The largest event payload Salesforce publishes (1 MB). */
export const MAX_EVENT_BYTES = 1_048_576;
/** `ErrorCode.PUBLISH` of a refused event's result. */
const ERROR_CODE_PUBLISH = 1;

/** A gRPC error with the Salesforce trailer and the `rpcId` suffix. */
function rpcError(code: grpc.status, message: string, rpcId: string, errorCode?: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (errorCode) metadata.set('error-code', errorCode);
  metadata.set('rpc-id', rpcId);
  const err = new Error(`${message} rpcId: ${rpcId}`) as grpc.ServiceError;
  return Object.assign(err, { code, details: `${message} rpcId: ${rpcId}`, metadata });
}

interface FetchRequest { topicName: string; replayPreset: number; replayId: Buffer; numRequested: number; authRefresh: string }
interface ProducerEvent { id: string; schemaId: string; payload: Buffer }
interface PublishRequest { topicName: string; events: ProducerEvent[]; authRefresh: string }
interface CommitReplayRequest { commitRequestId: string; replayId: Buffer }
interface ManagedFetchRequest { subscriptionId: string; developerName: string; numRequested: number; authRefresh: string; commitReplayIdRequest: CommitReplayRequest | null }

/** Starts the Pub/Sub server for an emulator; `port: 0` picks a free port. */
export async function startPubSub(emulator: Emulator, opts: PubSubOptions = {}): Promise<PubSubServer> {
  const org = emulator.org;
  const keepaliveMs = opts.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
  const expectedOrigin = opts.instanceUrl ? new URL(opts.instanceUrl).origin : null;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  /** Open subscription streams: `drop(true)` fails them with UNAVAILABLE (fault), `drop(false)` ends them. */
  const streams = new Set<(fault: boolean) => void>();
  const stats = { delivered: 0, keepalives: 0, faultDrops: 0, publishStreams: 0, get subscriptions() { return streams.size; } };

  function authenticate(md: grpc.Metadata, rpcId: string): Session {
    const token = String(md.get('accesstoken')[0] ?? '');
    const instance = String(md.get('instanceurl')[0] ?? '');
    const tenant = String(md.get('tenantid')[0] ?? '');
    const fail = (why: string) => rpcError(grpc.status.UNAUTHENTICATED, `${why}`, rpcId, ERROR_CODES.auth);
    if (!token || !instance || !tenant) throw fail('Missing the accesstoken, instanceurl or tenantid header.');
    if (!URL.canParse(instance) || (expectedOrigin && new URL(instance).origin !== expectedOrigin)) throw fail(`The instanceurl header ${instance} is not this org's instance URL.`);
    if (tenant !== org.orgId && tenant !== org.orgId.slice(0, 15)) throw fail(`The tenantid header ${tenant} is not this org's ID.`);
    const session = emulator.sessions.validate(token);
    if (!session) throw fail('The access token is invalid or expired.');
    return session;
  }

  function topicOf(name: string, rpcId: string): Topic {
    const topic = name ? resolveTopic(org, name) : null;
    if (!topic) throw rpcError(grpc.status.NOT_FOUND, `Topic ${name || '(empty)'} not found. Check the name (case-sensitive), and that Change Data Capture is on for the object.`, rpcId);
    return topic;
  }

  /** Runs a unary handler with auth and error mapping. */
  function unary<Req, Res>(fn: (req: Req, rpcId: string) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const rpcId = randomUUID();
      void (async () => {
        try {
          authenticate(call.metadata, rpcId);
          callback(null, await fn(call.request, rpcId));
        } catch (err) {
          callback(toServiceError(err, rpcId));
        }
      })();
    };
  }

  function toServiceError(err: unknown, rpcId: string): grpc.ServiceError {
    if (err && typeof err === 'object' && 'code' in err && 'metadata' in err) return err as grpc.ServiceError;
    return rpcError(grpc.status.INTERNAL, `Internal error: ${(err as Error).message}`, rpcId);
  }

  async function publish(topicName: string, events: ProducerEvent[], rpcId: string) {
    const topic = topicOf(topicName, rpcId);
    if (topic.kind !== 'platform') throw rpcError(grpc.status.PERMISSION_DENIED, `Publishing to ${topicName} isn't allowed: only platform events can be published.`, rpcId);
    const schema = topicSchema(org, topic)!;
    // One transaction for the batch; payloads are published as sent (Salesforce does not validate them).
    const results = await orgWriteLock(org).shared(() => org.store.transaction(() => events.map((e) => {
      const id = e.id || randomUUID();
      // An event over the 1 MB event size limit is refused on its own; the rest of the batch publishes.
      if ((e.payload?.length ?? 0) > MAX_EVENT_BYTES) return { correlationKey: id, error: { code: ERROR_CODE_PUBLISH, msg: `The event is ${e.payload.length} bytes, over the maximum event size of ${MAX_EVENT_BYTES} bytes (1 MB). Publish smaller events.` } };
      const replayId = org.bus.append(topic.channel, { kind: 'platform', entity: topic.def!.name, uuid: id, payload: Buffer.from(e.payload ?? []).toString('base64'), schemaId: e.schemaId || schema.id });
      return { replayId: encodeReplayId(replayId), correlationKey: id };
    })));
    return { results, schemaId: schema.id, rpcId };
  }

  const publishStreams = new Set<() => void>();

  const handlers: grpc.UntypedServiceImplementation = {
    GetTopic: unary<{ topicName: string }, unknown>((req, rpcId) => {
      const topic = topicOf(req.topicName, rpcId);
      return { topicName: topic.channel, tenantGuid: org.orgId, canPublish: topic.kind === 'platform', canSubscribe: true, schemaId: topicSchema(org, topic)?.id ?? '', rpcId };
    }),

    GetSchema: unary<{ schemaId: string }, unknown>((req, rpcId) => {
      const s = schemas(org).byId(req.schemaId);
      if (!s) throw rpcError(grpc.status.NOT_FOUND, `Schema ${req.schemaId || '(empty)'} not found.`, rpcId);
      return { schemaJson: s.json, schemaId: s.id, rpcId };
    }),

    Publish: unary<PublishRequest, unknown>((req, rpcId) => publish(req.topicName, req.events ?? [], rpcId)),

    PublishStream: (call: grpc.ServerDuplexStream<PublishRequest, unknown>) => {
      const rpcId = randomUUID();
      stats.publishStreams++;
      let topicName: string | null = null;
      let queue = Promise.resolve();
      const fail = (err: unknown) => {
        call.emit('error', toServiceError(err, rpcId));
      };
      try {
        authenticate(call.metadata, rpcId);
      } catch (err) {
        fail(err);
        return;
      }
      call.on('data', (req: PublishRequest) => {
        queue = queue.then(async () => {
          try {
            if (req.authRefresh && !emulator.sessions.validate(req.authRefresh)) throw rpcError(grpc.status.UNAUTHENTICATED, 'The auth_refresh token is invalid.', rpcId, ERROR_CODES.authRefresh);
            if (topicName === null) topicName = req.topicName;
            else if (req.topicName && req.topicName !== topicName) throw rpcError(grpc.status.INVALID_ARGUMENT, `The topic ${req.topicName} differs from this stream's topic ${topicName}.`, rpcId);
            call.write(await publish(topicName, req.events ?? [], rpcId));
          } catch (err) {
            fail(err);
          }
        });
      });
      let ended = false;
      const end = () => void queue.then(() => {
        if (ended) return;
        ended = true;
        publishStreams.delete(end);
        call.end();
      });
      call.on('end', end);
      call.on('cancelled', () => {
        ended = true;
        publishStreams.delete(end);
      });
      // Shutting down ends open publish streams as it ends subscriptions: answered requests stay answered.
      publishStreams.add(end);
    },

    Subscribe: (call: grpc.ServerDuplexStream<FetchRequest, unknown>) => serveStream(call, false),

    ManagedSubscribe: (call: grpc.ServerDuplexStream<ManagedFetchRequest, unknown>) => serveStream(call, true),
  };

  /**
   * One subscription stream. Subscribe reads its start from the first FetchRequest; ManagedSubscribe from the
   * managed subscription it names (its committed replay id, else its default replay), and takes commits.
   */
  function serveStream(call: grpc.ServerDuplexStream<FetchRequest | ManagedFetchRequest, unknown>, managed: boolean): void {
    const rpcId = randomUUID();
    let topic: Topic | null = null;
    let subscription: ManagedSubscription | null = null;
    let position = 0;
    let credit = 0;
    let done = false;
    let sentSinceTick = false;
    let pumping = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      org.bus.off('commit', pump);
      clearInterval(timer);
      streams.delete(drop);
      if (err) call.emit('error', toServiceError(err, rpcId));
      else call.end();
    };
    const drop = (fault: boolean) => finish(fault ? rpcError(grpc.status.UNAVAILABLE, 'The stream was closed by the server. Subscribe again with the last replay ID.', rpcId) : undefined);
    try {
      authenticate(call.metadata, rpcId);
    } catch (err) {
      done = true;
      call.emit('error', toServiceError(err, rpcId));
      return;
    }
    streams.add(drop);

    function pump(): void {
      if (done || !topic || pumping) return;
      pumping = true;
      try {
        while (credit > 0 && !done) {
          const tip = org.bus.tip;
          const batch = org.bus.read(topic.channel, position, Math.min(credit, MAX_NUM_REQUESTED));
          if (batch.length === 0) {
            // Nothing for this channel up to the tip: the position moves there (latest_replay_id).
            position = Math.max(position, tip);
            break;
          }
          // The streamDrop fault closes the stream instead of delivering: the batch is not lost.
          if (org.faults.roll('streamDrop')) {
            stats.faultDrops++;
            drop(true);
            return;
          }
          position = batch[batch.length - 1].replayId;
          credit -= batch.length;
          sentSinceTick = true;
          stats.delivered += batch.length;
          call.write({ events: batch.map((e) => toConsumerEvent(org, e)), latestReplayId: encodeReplayId(position), rpcId, pendingNumRequested: credit });
        }
      } catch (err) {
        finish(err);
      } finally {
        pumping = false;
      }
    }

    const timer = setInterval(() => {
      if (done || !topic) return;
      if (!sentSinceTick && credit > 0) pump();
      if (!sentSinceTick && !done) {
        position = Math.max(position, readTipFor());
        stats.keepalives++;
        call.write({ events: [], latestReplayId: encodeReplayId(position), rpcId, pendingNumRequested: credit });
      }
      sentSinceTick = false;
    }, keepaliveMs);
    timer.unref();
    // Only when the channel has nothing pending may the position skip to the tip.
    function readTipFor(): number {
      const tip = org.bus.tip;
      return org.bus.read(topic!.channel, position, 1).length === 0 ? tip : position;
    }

    /** Where a stream replaying after `id` starts; a purged or unknown id is refused with the Salesforce code. */
    function customStart(id: number | null): number {
      const start = id === null ? null : org.bus.validReplayStart(id);
      if (start === null) throw rpcError(grpc.status.INVALID_ARGUMENT, 'The Replay ID validation failed: the replay ID is unknown or outside the retention window. Subscribe with EARLIEST or LATEST and resynchronise.', rpcId, ERROR_CODES.replayCorrupted);
      return start;
    }

    function earliest(): number {
      org.bus.purgeExpired();
      return org.bus.purgedThrough;
    }

    /** The first request of a Subscribe stream: topic and start point. */
    function startSubscribe(req: FetchRequest): void {
      topic = topicOf(req.topicName, rpcId);
      const preset = Number(req.replayPreset ?? 0);
      if (preset === 2) {
        if (!req.replayId || req.replayId.length === 0) throw rpcError(grpc.status.INVALID_ARGUMENT, 'A CUSTOM replay preset needs a replay_id.', rpcId, ERROR_CODES.replayValidation);
        position = customStart(decodeReplayId(req.replayId));
      } else position = preset === 1 ? earliest() : org.bus.tip;
    }

    /** The first request of a ManagedSubscribe stream: the subscription and its stored position. */
    function startManaged(req: ManagedFetchRequest): void {
      const key = req.subscriptionId || req.developerName;
      const sub = key ? managedSubscriptions(org).get(key) : undefined;
      if (!sub || (req.subscriptionId && req.developerName && sub.developerName !== req.developerName)) {
        throw rpcError(grpc.status.NOT_FOUND, `Managed subscription ${key || '(empty)'} not found. Name it by subscription_id or developer_name.`, rpcId);
      }
      if (sub.state !== 'RUN') throw rpcError(grpc.status.FAILED_PRECONDITION, `Managed subscription ${sub.developerName} is in the ${sub.state} state; set it to RUN to subscribe.`, rpcId);
      topic = topicOf(sub.topicName, rpcId);
      subscription = sub;
      position = sub.committedReplayId !== null ? customStart(sub.committedReplayId) : sub.defaultReplay === 'EARLIEST' ? earliest() : org.bus.tip;
    }

    /** A commit of a managed subscription: stored when the id is one the bus can replay after. */
    function commit(c: CommitReplayRequest): void {
      const id = c.replayId && c.replayId.length ? decodeReplayId(c.replayId) : null;
      const valid = id !== null && org.bus.validReplayStart(id) !== null;
      if (valid) managedSubscriptions(org).commit(subscription!.id, id);
      const commitResponse = {
        commitRequestId: c.commitRequestId,
        replayId: c.replayId ?? Buffer.alloc(0),
        processTime: org.clock.now(),
        ...(valid ? {} : { error: { code: 2, msg: 'The replay ID cannot be committed: it is unknown or outside the retention window.' } }),
      };
      call.write({ events: [], latestReplayId: encodeReplayId(position), rpcId, pendingNumRequested: credit, commitResponse });
    }

    call.on('data', (req: FetchRequest & ManagedFetchRequest) => {
      if (done) return;
      try {
        if (!emulator.sessions.validate(String(call.metadata.get('accesstoken')[0] ?? '')) && !(req.authRefresh && emulator.sessions.validate(req.authRefresh))) {
          throw rpcError(grpc.status.UNAUTHENTICATED, 'The access token is invalid or expired.', rpcId, ERROR_CODES.auth);
        }
        if (req.authRefresh && !emulator.sessions.validate(req.authRefresh)) throw rpcError(grpc.status.UNAUTHENTICATED, 'The auth_refresh token is invalid.', rpcId, ERROR_CODES.authRefresh);
        const n = Number(req.numRequested ?? 0);
        if (!topic) {
          if (managed) startManaged(req);
          else startSubscribe(req);
        } else if (!managed && req.topicName && req.topicName !== topic.channel) {
          throw rpcError(grpc.status.INVALID_ARGUMENT, `The topic ${req.topicName} differs from this subscription's topic ${topic.channel}.`, rpcId);
        } else if (managed && ((req.subscriptionId && !subscription!.id.startsWith(req.subscriptionId)) || (req.developerName && req.developerName !== subscription!.developerName))) {
          throw rpcError(grpc.status.INVALID_ARGUMENT, `The subscription ${req.subscriptionId || req.developerName} differs from this stream's subscription ${subscription!.developerName}.`, rpcId);
        }
        // A request that only commits may ask for no events.
        const commitOnly = managed && req.commitReplayIdRequest && n === 0;
        if (!commitOnly && (!Number.isInteger(n) || n <= 0 || n > MAX_NUM_REQUESTED)) {
          throw rpcError(grpc.status.INVALID_ARGUMENT, `num_requested must be between 1 and ${MAX_NUM_REQUESTED}, got ${n}.`, rpcId, ERROR_CODES.requestedInvalid);
        }
        if (managed && req.commitReplayIdRequest) commit(req.commitReplayIdRequest);
        credit += n;
        pump();
      } catch (err) {
        finish(err);
      }
    });
    org.bus.on('commit', pump);
    call.on('end', () => finish());
    call.on('cancelled', () => finish());
    call.on('error', () => finish());
  }

  server.addService(loadService(), handlers);
  const host = opts.host ?? '127.0.0.1';
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: toBuffer(opts.tls.cert), private_key: toBuffer(opts.tls.key) }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${opts.port ?? 0}`, creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  const stopDrops = () => {
    for (const drop of [...streams]) drop(true);
  };
  org.bus.on('drop', stopDrops);
  return {
    host,
    port,
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: Boolean(opts.tls),
    stats,
    close: () => new Promise<void>((resolve) => {
      org.bus.off('drop', stopDrops);
      for (const end of [...streams]) end(false);
      for (const end of [...publishStreams]) end();
      server.tryShutdown(() => resolve());
      setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000).unref();
    }),
  };
}

function toBuffer(v: string | Buffer): Buffer {
  if (Buffer.isBuffer(v)) return v;
  return v.includes('-----BEGIN') ? Buffer.from(v) : readFileSync(v);
}
