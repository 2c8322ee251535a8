/**
 * Whether an XML document declares entities: an `<!ENTITY` anywhere, or a DOCTYPE with an
 * internal subset (`<!DOCTYPE name [ … ]>`). Such a document is an entity-expansion attempt
 * (billion laughs) or an external-entity probe, and is refused before any parser sees it.
 *
 * One left-to-right pass. The obvious regex `/<!DOCTYPE[^>]*\[/i` is quadratic: from every
 * `<!DOCTYPE` it scans to the next '>' (or the end), so a body of 1 MiB of `<!DOCTYPE` with
 * no '>' costs ~10^11 steps. Here a DOCTYPE's scan stops at its '>' and the search for the
 * next DOCTYPE resumes after it, and a scan that reaches the end without '>' decides.
 */
export function declaresEntities(xml: string): boolean {
  if (/<!ENTITY/i.test(xml)) return true;
  const doctype = /<!DOCTYPE/gi;
  while (doctype.exec(xml)) {
    let i = doctype.lastIndex;
    for (; i < xml.length; i++) {
      const c = xml.charCodeAt(i);
      if (c === 0x5b /* [ */) return true;
      if (c === 0x3e /* > */) break;
    }
    if (i >= xml.length) return false;
    doctype.lastIndex = i + 1;
  }
  return false;
}
