// A reader for Apple's XML property lists (the DTD at http://www.apple.com/DTDs/PropertyList-1.0.dtd) as
// `hdiutil -plist` prints them: dict, array, string, integer, real, true, false, data, date. Text outside
// the <plist> element (a progress line before it) is ignored; anything malformed inside it is an error
// naming the offset.

export type PlistValue = string | number | boolean | Date | Uint8Array | PlistValue[] | { [key: string]: PlistValue };

export class PlistError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = "PlistError";
  }
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeText(raw: string, at: number): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (_m, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    const text = ENTITIES[name];
    if (text === undefined) throw new PlistError(`unknown entity &${name};`, at);
    return text;
  });
}

interface Tag {
  name: string;
  closing: boolean;
  empty: boolean;
  start: number;
}

class Reader {
  private pos: number;

  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.pos = start;
  }

  /** The next tag, skipping whitespace and comments; text other than whitespace before it is an error. */
  tag(): Tag {
    for (;;) {
      const lt = this.text.indexOf("<", this.pos);
      if (lt < 0) throw new PlistError("unexpected end of input", this.text.length);
      if (this.text.slice(this.pos, lt).trim() !== "") throw new PlistError("unexpected text", this.pos);
      if (this.text.startsWith("<!--", lt)) {
        const end = this.text.indexOf("-->", lt + 4);
        if (end < 0) throw new PlistError("unterminated comment", lt);
        this.pos = end + 3;
        continue;
      }
      const gt = this.text.indexOf(">", lt);
      if (gt < 0) throw new PlistError("unterminated tag", lt);
      const body = this.text.slice(lt + 1, gt);
      const match = /^(\/?)([A-Za-z]+)(?:\s[^>]*?)?(\/?)$/.exec(body.trim());
      if (!match) throw new PlistError(`malformed tag <${body}>`, lt);
      this.pos = gt + 1;
      return { name: match[2]!, closing: match[1] === "/", empty: match[3] === "/", start: lt };
    }
  }

  /** Raw text up to the closing tag `</name>`, which is consumed. */
  textUntil(name: string): string {
    const close = `</${name}>`;
    const end = this.text.indexOf(close, this.pos);
    if (end < 0) throw new PlistError(`missing ${close}`, this.pos);
    const raw = this.text.slice(this.pos, end);
    if (raw.includes("<")) throw new PlistError(`markup inside <${name}>`, this.pos);
    this.pos = end + close.length;
    return raw;
  }

  value(open: Tag = this.tag()): PlistValue {
    if (open.closing) throw new PlistError(`unexpected </${open.name}>`, open.start);
    switch (open.name) {
      case "dict":
        return open.empty ? {} : this.dict();
      case "array":
        return open.empty ? [] : this.array();
      case "true":
      case "false":
        if (!open.empty) this.expectClose(open.name);
        return open.name === "true";
      default:
        return this.scalar(open);
    }
  }

  private scalar(open: Tag): PlistValue {
    const raw = open.empty ? "" : this.textUntil(open.name);
    switch (open.name) {
      case "string":
        return decodeText(raw, open.start);
      case "integer": {
        const text = raw.trim();
        const n = Number(text);
        if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(n))
          throw new PlistError(`bad <integer> ${text}`, open.start);
        return n;
      }
      case "real": {
        const n = Number(raw.trim());
        if (raw.trim() === "" || Number.isNaN(n)) throw new PlistError(`bad <real> ${raw.trim()}`, open.start);
        return n;
      }
      case "data":
        return Uint8Array.from(Buffer.from(raw.replace(/\s+/g, ""), "base64"));
      case "date": {
        const date = new Date(raw.trim());
        if (Number.isNaN(date.getTime())) throw new PlistError(`bad <date> ${raw.trim()}`, open.start);
        return date;
      }
      default:
        throw new PlistError(`unknown element <${open.name}>`, open.start);
    }
  }

  private dict(): Record<string, PlistValue> {
    const out: Record<string, PlistValue> = {};
    for (;;) {
      const key = this.tag();
      if (key.closing && key.name === "dict") return out;
      if (key.name !== "key" || key.closing)
        throw new PlistError(`expected <key> in <dict>, found <${key.name}>`, key.start);
      const name = key.empty ? "" : decodeText(this.textUntil("key"), key.start);
      const value = this.tag();
      if (value.closing) throw new PlistError(`<key>${name}</key> has no value`, value.start);
      out[name] = this.value(value);
    }
  }

  private array(): PlistValue[] {
    const out: PlistValue[] = [];
    for (;;) {
      const next = this.tag();
      if (next.closing && next.name === "array") return out;
      out.push(this.value(next));
    }
  }

  expectClose(name: string): void {
    const tag = this.tag();
    if (!tag.closing || tag.name !== name) throw new PlistError(`expected </${name}>`, tag.start);
  }
}

/** Parses the first <plist> element in `text` and returns its one value. */
export function parsePlist(text: string): PlistValue {
  const start = text.search(/<plist[\s>]/);
  if (start < 0) throw new PlistError("no <plist> element", 0);
  const reader = new Reader(text, start);
  const open = reader.tag();
  if (open.empty) throw new PlistError("empty <plist>", start);
  const value = reader.value();
  reader.expectClose("plist");
  return value;
}
