/**
 * The SOAP side of Outbound Messages: reading Salesforce's `notifications` envelope (fast-xml-parser, with
 * namespace prefixes removed so `sf:Name` and `Name` read alike), and writing the acknowledgement, the fault
 * that makes Salesforce retry, and the WSDL a Salesforce admin or a test client reads.
 */
import { XMLParser } from 'fast-xml-parser';

export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

/** One `Notification` of a message. */
export interface ParsedNotification {
  id: string;
  object: string;
  record: Record<string, string | null>;
}

/** A parsed `notifications` message. */
export interface ParsedOutboundMessage {
  organizationId: string;
  actionId: string;
  sessionId: string | null;
  enterpriseUrl: string | null;
  partnerUrl: string | null;
  notifications: ParsedNotification[];
}

/** A request body that is not an Outbound Message (answered with a SOAP fault naming the problem). */
export class SoapParseError extends Error {
  readonly code = 'INVALID_SOAP';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // Every value stays text: an Id, a zip code or "007" must not turn into a number.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'Notification',
  processEntities: true,
});

const text = (v: unknown): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o['@nil'] === 'true') return null;
    return typeof o['#text'] === 'string' ? o['#text'] : '';
  }
  return String(v);
};

/** Parses a `notifications` envelope; throws {@link SoapParseError} for anything else. */
export function parseOutboundMessage(xml: string): ParsedOutboundMessage {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch (err) {
    throw new SoapParseError(`the body is not XML: ${(err as Error).message}`);
  }
  const body = (doc.Envelope as Record<string, unknown> | undefined)?.Body as Record<string, unknown> | undefined;
  const n = body?.notifications as Record<string, unknown> | undefined;
  if (!n) throw new SoapParseError('expected a SOAP 1.1 Envelope with Body/notifications (an Outbound Message)');
  const organizationId = text(n.OrganizationId);
  if (!organizationId) throw new SoapParseError('notifications/OrganizationId is missing');
  const list = (n.Notification as Record<string, unknown>[] | undefined) ?? [];
  if (!list.length) throw new SoapParseError('the message has no Notification');
  if (list.length > 100) throw new SoapParseError(`a message carries at most 100 notifications, this one ${list.length}`);
  const notifications = list.map((item, i): ParsedNotification => {
    const id = text(item.Id);
    if (!id) throw new SoapParseError(`Notification[${i}]/Id is missing`);
    const so = item.sObject as Record<string, unknown> | undefined;
    if (!so || typeof so !== 'object') throw new SoapParseError(`Notification[${i}]/sObject is missing`);
    const type = String(so['@type'] ?? '');
    const object = type.includes(':') ? type.slice(type.indexOf(':') + 1) : type;
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(object)) throw new SoapParseError(`Notification[${i}]/sObject has no xsi:type naming its object (e.g. xsi:type="sf:Account")`);
    const record: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(so)) {
      if (k.startsWith('@')) continue;
      record[k] = text(v);
    }
    return { id, object, record };
  });
  return { organizationId, actionId: text(n.ActionId) ?? '', sessionId: text(n.SessionId), enterpriseUrl: text(n.EnterpriseUrl), partnerUrl: text(n.PartnerUrl), notifications };
}

/** The acknowledgement: Salesforce counts a delivery only when `Ack` is `true`. */
export function ackEnvelope(ack = true): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="${SOAP_ENV}"><soapenv:Body><notificationsResponse xmlns="${OUTBOUND_NS}"><Ack>${ack}</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** A SOAP 1.1 fault (`soapenv:Client` for a bad request, `soapenv:Server` for ours). */
export function faultEnvelope(code: 'Client' | 'Server', message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="${SOAP_ENV}"><soapenv:Body><soapenv:Fault><faultcode>soapenv:${code}</faultcode><faultstring>${esc(message)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`;
}

/** The WSDL of a pipeline's endpoint (the `notifications` operation, records typed as `sf:sObject`). */
export function outboundWsdl(endpoint: string, objects: readonly string[]): string {
  const types = (objects.length ? objects : ['sObject'])
    .map((o) => (o === 'sObject' ? '' : `<complexType name="${esc(o)}"><complexContent><extension base="ens:sObject"><sequence><any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/></sequence></extension></complexContent></complexType>`))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions targetNamespace="${OUTBOUND_NS}" xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:ens="urn:sobject.enterprise.soap.sforce.com" xmlns:ent="urn:enterprise.soap.sforce.com" xmlns:tns="${OUTBOUND_NS}">
  <types>
    <schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:enterprise.soap.sforce.com">
      <simpleType name="ID"><restriction base="xsd:string"><length value="18"/><pattern value="[a-zA-Z0-9]{18}"/></restriction></simpleType>
    </schema>
    <schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:sobject.enterprise.soap.sforce.com">
      <import namespace="urn:enterprise.soap.sforce.com"/>
      <complexType name="sObject"><sequence><element name="fieldsToNull" type="xsd:string" nillable="true" minOccurs="0" maxOccurs="unbounded"/><element name="Id" type="ent:ID" nillable="true" minOccurs="0"/></sequence></complexType>
      ${types}
    </schema>
    <schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="${OUTBOUND_NS}">
      <import namespace="urn:enterprise.soap.sforce.com"/>
      <import namespace="urn:sobject.enterprise.soap.sforce.com"/>
      <element name="notifications">
        <complexType><sequence>
          <element name="OrganizationId" type="ent:ID"/>
          <element name="ActionId" type="ent:ID"/>
          <element name="SessionId" type="xsd:string" nillable="true"/>
          <element name="EnterpriseUrl" type="xsd:string"/>
          <element name="PartnerUrl" type="xsd:string"/>
          <element name="Notification" maxOccurs="100" type="tns:Notification"/>
        </sequence></complexType>
      </element>
      <complexType name="Notification"><sequence><element name="Id" type="ent:ID"/><element name="sObject" type="ens:sObject"/></sequence></complexType>
      <element name="notificationsResponse"><complexType><sequence><element name="Ack" type="xsd:boolean"/></sequence></complexType></element>
    </schema>
  </types>
  <message name="notificationsRequest"><part element="tns:notifications" name="request"/></message>
  <message name="notificationsResponse"><part element="tns:notificationsResponse" name="response"/></message>
  <portType name="NotificationPort"><operation name="notifications"><input message="tns:notificationsRequest"/><output message="tns:notificationsResponse"/></operation></portType>
  <binding name="NotificationBinding" type="tns:NotificationPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="notifications"><soap:operation soapAction=""/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="NotificationService"><port binding="tns:NotificationBinding" name="Notification"><soap:address location="${esc(endpoint)}"/></port></service>
</definitions>
`;
}
