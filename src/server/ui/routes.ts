/**
 * The dashboard's routes: pages (GET) and the forms they post (`/ui/…`, each a redirect back to a page
 * with a notice, or the page again with the error). The access middleware of app.ts has already checked
 * the session and, for posts, its CSRF token and Origin.
 */
import type { Context, Hono } from 'hono';
import type { Service } from '../../engine/service.ts';
import type { JsonObject } from '../../store/index.ts';
import { errorBody } from '../api/routes.ts';
import { APP_JS, uplotFile } from './assets.ts';
import { connectionsPage, deadLetterPage, deadLettersPage, pipelinePage, pipelinesPage, queuedPage, runPage, runsPage, syncBodyOf, usagePage, type NewPipelineForm } from './dashboard.ts';
import type { Html } from './layout.ts';
import { RunTotals, runStream } from './live.ts';
import { actionError } from './pages.ts';
import { twoWayPage } from './two-way.ts';

export interface DashboardDeps {
  service: Service;
  /** Renders a page with the dashboard's security headers. */
  htmlPage(c: Context, body: Html, status?: number): Response | Promise<Response>;
  /** The CSRF token of the request's session ('' without one). */
  csrfOf(c: Context): string;
  /** A "not found" page. */
  notFound(c: Context, what: string): Response | Promise<Response>;
}

/** Paths of the dashboard's static files (public, like the stylesheet). */
export const DASHBOARD_ASSETS = /^\/assets\/(app\.js|uplot\.iife\.min\.js|uplot\.min\.css)$/;

const posInt = (s: string | undefined) => (s && /^\d{1,15}$/.test(s) && Number(s) > 0 ? Number(s) : undefined);

export function registerDashboard(app: Hono<any>, deps: DashboardDeps): void {
  const { service, htmlPage, csrfOf, notFound } = deps;
  const totals = RunTotals.of(service);
  const fail = (c: Context, err: unknown) => htmlPage(c, actionError((err as Error).message, csrfOf(c)), errorBody(err).status);
  const form = async (c: Context) => (await c.req.parseBody()) as Record<string, string | File>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const back = (c: Context, path: string, params: Record<string, string>) => c.redirect(`${path}?${new URLSearchParams(params)}`, 303);

  // Static files -------------------------------------------------------------------------------------

  app.get('/assets/app.js', (c) => c.body(APP_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600' }));
  app.get('/assets/uplot.iife.min.js', async (c) => c.body(await uplotFile('uPlot.iife.min.js'), 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' }));
  app.get('/assets/uplot.min.css', async (c) => c.body(await uplotFile('uPlot.min.css'), 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=86400' }));

  // Connections --------------------------------------------------------------------------------------

  app.get('/connections', async (c) => {
    const q = c.req.query();
    const notice = q.revoked ? `Access of ${q.revoked} was revoked.` : q.tested ? (q.ok === '1' ? `${q.tested} logged in: org ${q.org ?? ''}.` : undefined) : undefined;
    const error = q.tested && q.ok !== '1' ? `${q.tested} could not log in: ${q.message ?? 'unknown error'}` : undefined;
    return htmlPage(c, await connectionsPage(service, csrfOf(c), { notice, error }));
  });

  app.post('/ui/connections/:name/test', async (c) => {
    const name = c.req.param('name');
    if (!(await service.connections.get(name))) return notFound(c, `connection ${name}`);
    try {
      const client = await service.connections.client(name);
      await client.session();
      return back(c, '/connections', { tested: name, ok: '1', org: service.connections.orgId(name) ?? '' });
    } catch (err) {
      return back(c, '/connections', { tested: name, ok: '0', message: (err as Error).message });
    }
  });

  // Pipelines ----------------------------------------------------------------------------------------

  app.get('/pipelines', async (c) => {
    const q = c.req.query();
    const notice = q.queued ? `A run of ${q.queued} is queued.` : q.paused ? `${q.paused} is paused: it runs only when started by hand.` : q.resumed ? `${q.resumed} runs on its schedule again.` : q.created ? `Pipeline ${q.created} was created.` : undefined;
    return htmlPage(c, await pipelinesPage(service, csrfOf(c), { notice }));
  });

  app.post('/ui/pipelines', async (c) => {
    const f = await form(c);
    const input: NewPipelineForm = { name: str(f.name)?.trim(), connection: str(f.connection), objects: str(f.objects), schedule: str(f.schedule), documents: Boolean(f.documents), paused: Boolean(f.paused) };
    const name = input.name ?? '';
    try {
      if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) throw Object.assign(new Error(`the name "${name}" is not valid: start with a letter, then letters, digits, - or _ (at most 64)`), { status: 400, code: 'INVALID_PIPELINE' });
      if (await service.pipelines.get(name)) throw Object.assign(new Error(`a pipeline named "${name}" exists already: pick another name`), { status: 409, code: 'PIPELINE_EXISTS' });
      // Paused before it exists, so the schedule never sees it runnable.
      if (input.paused) await service.state.updateSchedule(name, { paused: true });
      try {
        await service.pipelines.put(name, syncBodyOf(input), async (conn) => Boolean(await service.connections.get(conn)));
      } catch (err) {
        if (input.paused) await service.state.deleteSchedule(name);
        throw err;
      }
      await service.pipelineChanged(name);
      return c.redirect(`/pipelines/${encodeURIComponent(name)}?created=1`, 303);
    } catch (err) {
      return htmlPage(c, await pipelinesPage(service, csrfOf(c), { error: (err as Error).message, form: input }), errorBody(err).status);
    }
  });

  app.get('/pipelines/:name', async (c) => {
    const name = c.req.param('name');
    const q = c.req.query();
    const notice = q.created ? `Pipeline ${name} was created${q.created && (await service.state.getSchedule(name))?.paused ? ' paused: press Run now to run it' : ''}.` : q.paused ? `${name} is paused: it runs only when started by hand.` : q.resumed ? `${name} runs on its schedule again.` : undefined;
    const body = await pipelinePage(service, name, csrfOf(c), { notice });
    return body ? htmlPage(c, body) : notFound(c, `pipeline ${name}`);
  });

  app.post('/ui/pipelines/:name/run', async (c) => {
    try {
      const job = await service.runNow(c.req.param('name'));
      return c.redirect(`/jobs/${job.id}`, 303);
    } catch (err) {
      return fail(c, err);
    }
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post(`/ui/pipelines/:name/${action}`, async (c) => {
      const name = c.req.param('name');
      try {
        await service.setPaused(name, action === 'pause');
        const from = c.req.header('referer');
        const onList = from ? new URL(from, 'http://x').pathname === '/pipelines' : false;
        return back(c, onList ? '/pipelines' : `/pipelines/${encodeURIComponent(name)}`, onList ? { [action === 'pause' ? 'paused' : 'resumed']: name } : { [action === 'pause' ? 'paused' : 'resumed']: '1' });
      } catch (err) {
        return fail(c, err);
      }
    });
  }

  /** A queued job: the run page once its run exists, else a page that refreshes itself. */
  app.get('/jobs/:id', async (c) => {
    const id = posInt(c.req.param('id'));
    if (!id) return notFound(c, `job ${c.req.param('id')}`);
    const job = await service.queue.get(id);
    // A finished job's row is gone; its run keeps the job id.
    const runs = await service.listRuns(job ? { pipeline: String(job.payload.pipeline ?? ''), limit: 20 } : { limit: 100 });
    const run = runs.find((r) => r.jobId === id);
    if (run) return c.redirect(`/runs/${run.id}`, 303);
    if (!job) return notFound(c, `job ${id} (it may have finished long ago: see the runs)`);
    const pipeline = String(job.payload.pipeline ?? '');
    if (job.state !== 'queued' && job.state !== 'running') return c.redirect(`/pipelines/${encodeURIComponent(pipeline)}`, 303);
    return htmlPage(c, queuedPage(pipeline, job.id, csrfOf(c)));
  });

  // Runs ---------------------------------------------------------------------------------------------

  app.get('/runs', async (c) => {
    const q = c.req.query();
    const status = ['running', 'succeeded', 'failed', 'interrupted'].includes(q.status ?? '') ? q.status : undefined;
    return htmlPage(c, await runsPage(service, csrfOf(c), { pipeline: q.pipeline || undefined, status, before: posInt(q.before) }));
  });

  app.get('/runs/:id', async (c) => {
    const id = posInt(c.req.param('id'));
    const body = id ? await runPage(service, id, csrfOf(c), totals.get(id)) : undefined;
    return body ? htmlPage(c, body) : notFound(c, `run ${c.req.param('id')}`);
  });

  app.get('/runs/:id/stream', async (c) => {
    const id = posInt(c.req.param('id'));
    if (!id || !(await service.getRun(id))) return notFound(c, `run ${c.req.param('id')}`);
    return runStream(c, service, id);
  });

  // Dead letters -------------------------------------------------------------------------------------

  app.get('/two-way', async (c) => htmlPage(c, await twoWayPage(service, csrfOf(c), { object: c.req.query('object') || undefined })));

  app.get('/dead-letters', async (c) => {
    const q = c.req.query();
    const status = (['open', 'replayed', 'discarded', 'superseded', 'all'] as const).find((s) => s === q.status) ?? 'open';
    const notice = q.discarded ? `Dead letter ${q.discarded} was discarded.` : undefined;
    return htmlPage(c, await deadLettersPage(service, csrfOf(c), { pipeline: q.pipeline || undefined, status }, { notice }));
  });

  app.get('/dead-letters/:pipeline/:id', async (c) => {
    const { pipeline } = c.req.param();
    const id = posInt(c.req.param('id'));
    const q = c.req.query();
    const notice = q.replayed ? `Replayed: Salesforce accepted the record${q.sf_id ? ` (Id ${q.sf_id})` : ''}. This dead letter is resolved.` : undefined;
    try {
      const body = id ? await deadLetterPage(service, pipeline, id, csrfOf(c), { notice }) : undefined;
      return body ? htmlPage(c, body) : notFound(c, `dead letter ${pipeline} #${c.req.param('id')}`);
    } catch (err) {
      return fail(c, err);
    }
  });

  app.post('/ui/dead-letters/:pipeline/:id/replay', async (c) => {
    const { pipeline } = c.req.param();
    const id = posInt(c.req.param('id'));
    if (!id) return notFound(c, `dead letter ${pipeline} #${c.req.param('id')}`);
    const text = str((await form(c)).payload);
    let payload: JsonObject | undefined;
    const again = async (error: string, status: number) => {
      const body = await deadLetterPage(service, pipeline, id, csrfOf(c), { error, payload: text });
      return body ? htmlPage(c, body, status) : notFound(c, `dead letter ${pipeline} #${id}`);
    };
    if (text !== undefined && text.trim()) {
      try {
        payload = JSON.parse(text) as JsonObject;
      } catch (err) {
        return again(`The payload is not valid JSON (${(err as Error).message}); correct it and replay again.`, 400);
      }
      if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return again('The payload must be one JSON object, such as {"LastName": "Smith"}; correct it and replay again.', 400);
    }
    try {
      const { letter, outcome } = await service.replayDeadLetter(pipeline, id, payload);
      if (letter.status === 'replayed') return back(c, `/dead-letters/${encodeURIComponent(pipeline)}/${id}`, { replayed: '1', sf_id: letter.sfId ?? '' });
      const e = outcome?.result.errors[0] ?? letter.error;
      return again(`Salesforce refused the replay: ${e.code} ${e.message}. The letter stays open with this error.`, 422);
    } catch (err) {
      return fail(c, err);
    }
  });

  app.post('/ui/dead-letters/:pipeline/:id/discard', async (c) => {
    const { pipeline } = c.req.param();
    const id = posInt(c.req.param('id'));
    if (!id) return notFound(c, `dead letter ${pipeline} #${c.req.param('id')}`);
    try {
      await service.discardDeadLetter(pipeline, id);
      return back(c, '/dead-letters', { pipeline, discarded: `${pipeline} #${id}` });
    } catch (err) {
      return fail(c, err);
    }
  });

  // API usage ----------------------------------------------------------------------------------------

  app.get('/usage', async (c) => htmlPage(c, await usagePage(service, csrfOf(c), c.req.query('range') ?? '24h')));
}
