import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResponseShapeError } from '../../src/errors.js';
import {
  buildJamfProfileUpdate,
  escapeXmlText,
  parseClassicErrorPage,
  parseComputerGroup,
  parseJamfProfile,
} from '../../src/clients/jamf-profile-xml.js';

const PLIST = readFileSync(new URL('../fixtures/mobileconfig/thoth.mobileconfig', import.meta.url), 'utf8');

/** Escaped the way Jamf returns it: &lt; &gt; &amp; &quot; (no apostrophe escaping). */
const jamfEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const profileXml = (payloads: string, extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?><os_x_configuration_profile><general><id>123</id><name>Thoth &amp; Co runtime</name>` +
  `<description/><site><id>-1</id><name>None</name></site><category><id>4</id><name>Security</name></category>` +
  `<distribution_method>Install Automatically</distribution_method><user_removable>false</user_removable><level>System</level>` +
  `<uuid>8C1E0F3A-4B2D-4E6F-9A7B-1C2D3E4F5A6B</uuid><redeploy_on_update>Newly Assigned</redeploy_on_update>` +
  `<payloads>${payloads}</payloads>${extra}</general><scope><all_computers>false</all_computers><computer_groups>` +
  `<computer_group><id>45</id><name>Thoth pilot</name></computer_group></computer_groups></scope>` +
  `<self_service><self_service_display_name>x</self_service_display_name></self_service></os_x_configuration_profile>`;

/** Turns an update body into something parseJamfProfile accepts (it requires an id). */
const asProfile = (body: string): string => body.replace('<general>', '<general><id>1</id><name>n</name>');

describe('parseJamfProfile', () => {
  it('reads a realistic Classic profile and unescapes the payloads exactly', () => {
    expect(parseJamfProfile(profileXml(jamfEscape(PLIST)))).toEqual({
      id: 123,
      name: 'Thoth & Co runtime',
      uuid: '8C1E0F3A-4B2D-4E6F-9A7B-1C2D3E4F5A6B',
      payloads: PLIST,
      redeployOnUpdate: 'Newly Assigned',
    });
  });

  it('decodes numeric references and keeps CDATA verbatim, in document order', () => {
    const p = parseJamfProfile(profileXml('a&#65;&#x42;&#x1F600;<![CDATA[<x>&amp;]]>&apos;z&#13;&#10;'));
    expect(p.payloads).toBe("aAB😀<x>&amp;'z\r\n");
  });

  it('normalises literal line ends like an XML parser would', () => {
    expect(parseJamfProfile(profileXml('a\r\nb\rc')).payloads).toBe('a\nb\nc');
  });

  it('does not expand DOCTYPE entities (rejects internal subsets outright)', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "BOOM">]>${profileXml('&e;').replace(/^<\?xml[^>]*>/, '')}`;
    expect(() => parseJamfProfile(xml)).toThrow(/declares entities/);
  });

  const bad: { name: string; xml: string; message: RegExp }[] = [
    { name: 'unknown entity', xml: profileXml('&nbsp;'), message: /undeclared entity|well-formed/ },
    { name: 'bare ampersand', xml: profileXml('a & b'), message: /well-formed|bare "&"/ },
    { name: 'invalid char ref', xml: profileXml('&#0;'), message: /not an XML character|well-formed/ },
    { name: 'empty payloads', xml: profileXml(''), message: /payloads is missing or empty/ },
    { name: 'wrong root', xml: '<computer_group><id>1</id></computer_group>', message: /root element/ },
    { name: 'no general', xml: '<os_x_configuration_profile></os_x_configuration_profile>', message: /no <general>/ },
    { name: 'non-numeric id', xml: profileXml('x').replace('<id>123</id>', '<id>abc</id>'), message: /general\.id/ },
    { name: 'not XML', xml: '<html><body>oops', message: /well-formed/ },
    { name: 'empty', xml: '', message: /empty body/ },
    { name: 'element inside payloads', xml: profileXml('<b>x</b>'), message: /<b> found/ },
  ];
  it.each(bad)('rejects $name', ({ xml, message }) => {
    expect(() => parseJamfProfile(xml)).toThrow(ResponseShapeError);
    expect(() => parseJamfProfile(xml)).toThrow(message);
  });

  it('bounds the input size', () => {
    expect(() => parseJamfProfile(profileXml('x'.repeat(9 * 1024 * 1024)))).toThrow(/larger than/);
  });
});

describe('buildJamfProfileUpdate', () => {
  it('produces the documented PUT body', () => {
    expect(buildJamfProfileUpdate('<a b="c">\'&</a>]]>\r\n')).toBe(
      '<os_x_configuration_profile><general><payloads>&lt;a b=&quot;c&quot;&gt;&apos;&amp;&lt;/a&gt;]]&gt;&#13;\n' +
        '</payloads><redeploy_on_update>All</redeploy_on_update></general></os_x_configuration_profile>',
    );
  });

  it('round-trips the realistic plist exactly', () => {
    expect(parseJamfProfile(asProfile(buildJamfProfileUpdate(PLIST))).payloads).toBe(PLIST);
  });

  it('refuses characters XML cannot carry', () => {
    expect(() => buildJamfProfileUpdate('a\u0000b')).toThrow(/U\+0000/);
    expect(() => escapeXmlText('\uFFFE')).toThrow(/U\+FFFE/);
  });

  it('property: build then parse returns the payloads exactly', () => {
    const tricky = fc.constantFrom(
      '&',
      '<',
      '>',
      '"',
      "'",
      ']]>',
      '<![CDATA[',
      '&amp;',
      '&#13;',
      '\r',
      '\r\n',
      '\n',
      '\t',
      ' ',
      '<?xml',
      '-->',
      'é',
      '😀',
    );
    const text = fc
      .array(fc.oneof(tricky, fc.string({ unit: 'grapheme', maxLength: 8 })), { minLength: 1, maxLength: 30 })
      .map((parts) => parts.join(''))
      .filter((s) => s.trim() !== '');
    fc.assert(
      fc.property(text, (payloads) => {
        expect(parseJamfProfile(asProfile(buildJamfProfileUpdate(payloads))).payloads).toBe(payloads);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseClassicErrorPage', () => {
  const page = (body: string, title = 'Status page'): string =>
    `<html>\n<head>\n   <title>${title}</title>\n</head>\n<body style="font-family:sans-serif;">\n${body}\n</body>\n</html>`;
  const cases: { name: string; html: string; expected: string }[] = [
    {
      name: 'Jamf 409 page',
      html: page(
        '<p style="font-size:1.2em;font-weight:bold;">Conflict</p>\n<p>Error: Problem with payload &quot;Custom Settings&quot;</p>\n<p>You can get technical details <a href="http://x">here</a>.</p>',
      ),
      expected: 'Error: Problem with payload "Custom Settings"',
    },
    {
      name: 'error paragraph with tags and line breaks',
      html: page('<p>Error:\n  <b>Duplicate</b>   name</p>'),
      expected: 'Error: Duplicate name',
    },
    {
      name: 'no error paragraph → title',
      html: page('<p>Unauthorized</p>', 'Status &amp; page'),
      expected: 'Status & page',
    },
    { name: 'nothing recognisable', html: '<html><body>nope</body></html>', expected: '' },
    { name: 'empty', html: '', expected: '' },
    {
      name: 'several error paragraphs',
      html: page('<p>Error: one</p><p>Error: two</p><p>Error: one</p>'),
      expected: 'Error: one; Error: two',
    },
  ];
  it.each(cases)('$name', ({ html, expected }) => expect(parseClassicErrorPage(html)).toBe(expected));

  it('is bounded', () => {
    const out = parseClassicErrorPage(page(`<p>Error: ${'x'.repeat(10_000)}</p>`));
    expect(out.length).toBeLessThanOrEqual(500);
    expect(out.endsWith('…')).toBe(true);
    expect(parseClassicErrorPage(`${'<p>'.repeat(100_000)}`)).toBe('');
  });
});

describe('parseComputerGroup', () => {
  const group = (computers: string, smart = 'false'): string =>
    `<?xml version="1.0" encoding="UTF-8"?><computer_group><id>45</id><name>Thoth &lt;pilot&gt;</name><is_smart>${smart}</is_smart>` +
    `<site><id>-1</id><name>None</name></site><criteria><size>0</size></criteria><computers><size>2</size>${computers}</computers></computer_group>`;
  const computer = (id: number): string =>
    `<computer><id>${id}</id><name>mac-${id}</name><mac_address>AA:BB:CC:00:00:${id % 100}</mac_address><alt_mac_address/><serial_number>C02X${id}</serial_number></computer>`;

  it('reads a static group', () => {
    expect(parseComputerGroup(group(computer(7) + computer(9)))).toEqual({
      id: 45,
      name: 'Thoth <pilot>',
      isSmart: false,
      computerIds: [7, 9],
    });
  });

  it('reads a smart group and de-duplicates ids', () => {
    expect(parseComputerGroup(group(computer(3) + computer(3), 'true'))).toMatchObject({
      isSmart: true,
      computerIds: [3],
    });
  });

  it('reads an empty group', () => {
    expect(parseComputerGroup(group('')).computerIds).toEqual([]);
  });

  it('rejects malformed member ids and is_smart values', () => {
    expect(() => parseComputerGroup(group('<computer><id>x</id></computer>'))).toThrow(/computers\.computer\.id/);
    expect(() => parseComputerGroup(group('', 'maybe'))).toThrow(/is_smart/);
  });

  it('handles 50,000 members', () => {
    const xml = group(Array.from({ length: 50_000 }, (_, i) => computer(i + 1)).join(''));
    const g = parseComputerGroup(xml);
    expect(g.computerIds).toHaveLength(50_000);
    expect(g.computerIds[49_999]).toBe(50_000);
  });
});
