/**
 * The OData 4.0 service documents: `$metadata` as CSDL XML (what Salesforce Connect's "Validate and Sync"
 * reads: entity sets, entity types with their `Key`, property types, `MaxLength`, navigation properties)
 * and the JSON service document.
 */
import type { EntitySet } from './model.ts';

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The CSDL document for a source's entity sets, in namespace `namespace`. */
export function metadataXml(namespace: string, sets: readonly EntitySet[]): string {
  const ns = xml(namespace);
  const types = sets.map((s) => {
    const t = s.type;
    const key = `<Key>${t.key.map((k) => `<PropertyRef Name="${xml(k.name)}"/>`).join('')}</Key>`;
    const props = t.properties
      .map((p) => {
        const facets = [
          p.nullable ? '' : ' Nullable="false"',
          p.maxLength !== undefined && p.edm === 'Edm.String' ? ` MaxLength="${p.maxLength}"` : '',
          p.edm === 'Edm.DateTimeOffset' || p.edm === 'Edm.TimeOfDay' ? ' Precision="3"' : '',
          p.edm === 'Edm.Decimal' ? ' Scale="variable"' : '',
        ].join('');
        return `<Property Name="${xml(p.name)}" Type="${p.edm}"${facets}/>`;
      })
      .join('');
    const navs = t.navigations
      .map((n) => `<NavigationProperty Name="${xml(n.name)}" Type="${ns}.${xml(n.target.type.name)}"><ReferentialConstraint Property="${xml(n.property.name)}" ReferencedProperty="${xml(n.target.type.key[0].name)}"/></NavigationProperty>`)
      .join('');
    return `<EntityType Name="${xml(t.name)}">${key}${props}${navs}</EntityType>`;
  });
  const container = sets
    .map((s) => {
      const bindings = s.type.navigations.map((n) => `<NavigationPropertyBinding Path="${xml(n.name)}" Target="${xml(n.target.name)}"/>`).join('');
      return `<EntitySet Name="${xml(s.name)}" EntityType="${ns}.${xml(s.type.name)}">${bindings}</EntitySet>`;
    })
    .join('');
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">' +
    '<edmx:DataServices>' +
    `<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="${ns}">` +
    types.join('') +
    `<EntityContainer Name="Container">${container}</EntityContainer>` +
    '</Schema></edmx:DataServices></edmx:Edmx>'
  );
}

/** The JSON service document listing the entity sets. */
export function serviceDocument(base: string, sets: readonly EntitySet[]): object {
  return {
    '@odata.context': `${base}$metadata`,
    value: sets.map((s) => ({ name: s.name, kind: 'EntitySet', url: s.name })),
  };
}
