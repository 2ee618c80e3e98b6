/**
 * Label names in URL paths (`/api/v1/label/<name>/values`). Prometheus 3 accepts any UTF-8 name;
 * clients that cannot put one in a path send it in the "values" escaping scheme: `U__` followed
 * by the name with `_` doubled and every other character outside [a-zA-Z0-9:] written as
 * `_<hex code point>_` (`U__http_2e_status` is `http.status`). An escaped name that does not
 * decode is taken literally, as Prometheus's model.UnescapeName does.
 */
export function unescapeLabelName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const escaped = name.slice(3);
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i];
    if (ch !== '_') {
      out += ch;
      continue;
    }
    i++;
    if (i >= escaped.length) return name;
    if (escaped[i] === '_') {
      out += '_';
      continue;
    }
    let code = 0;
    let digits = 0;
    for (;;) {
      if (i >= escaped.length || digits >= 6) return name;
      const c = escaped[i].toLowerCase();
      if (c === '_') break;
      const d = '0123456789abcdef'.indexOf(c);
      if (d < 0) return name;
      code = code * 16 + d;
      digits++;
      i++;
    }
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return name;
    out += String.fromCodePoint(code);
  }
  return out;
}

/** Whether a label name is valid under Prometheus 3's UTF-8 scheme: non-empty, well-formed. */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && !LONE_SURROGATE.test(name);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
