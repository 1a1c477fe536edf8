/**
 * Target topics built from the source topic: `audit.{topic}`, `eu.{2..}`.
 *
 * @module
 */

type Part = string | ((tokens: readonly string[], topic: string) => string);

/** A compiled topic template. */
export interface TopicTemplate {
  /** The template as written. */
  readonly source: string;
  /** Whether it uses the source topic at all (a fixed topic does not). */
  readonly dynamic: boolean;
  /**
   * Builds a topic.
   *
   * @param topic The source message's topic (or the topic a transform gave).
   * @returns The target topic.
   * @throws {RangeError} When the template names a token the topic does not have.
   */
  render(topic: string): string;
}

function tokenAt(tokens: readonly string[], n: number, topic: string): string {
  const i = n > 0 ? n - 1 : tokens.length + n;
  const t = tokens[i];
  if (t === undefined) {
    throw new RangeError(`Building the target topic failed: ${JSON.stringify(topic)} has no token ${n}`);
  }
  return t;
}

/**
 * Compiles a template. `{topic}` is the whole source topic; `{N}` its N-th
 * token (from 1; `{-1}` is the last), tokens being what the source's
 * separator splits (`.` for NATS, `/` elsewhere); `{N..}` the tokens from N
 * to the end and `{N..M}` from N to M, joined by the separator; `{{` and `}}`
 * are literal braces.
 *
 * @param template The template.
 * @param separator The source topics' separator.
 * @returns The compiled template.
 * @throws {SyntaxError} On an unknown placeholder or an unmatched brace (the message names it).
 */
export function compileTopicTemplate(template: string, separator: string): TopicTemplate {
  const parts: Part[] = [];
  let literal = "";
  let dynamic = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === "}") {
      if (template[i + 1] !== "}") throw new SyntaxError(`a lone "}" at position ${i + 1} (write "}}" for a brace)`);
      literal += "}";
      i++;
      continue;
    }
    if (c !== "{") {
      literal += c;
      continue;
    }
    if (template[i + 1] === "{") {
      literal += "{";
      i++;
      continue;
    }
    const end = template.indexOf("}", i);
    if (end < 0) throw new SyntaxError(`the "{" at position ${i + 1} is not closed`);
    const name = template.slice(i + 1, end);
    i = end;
    if (literal !== "") parts.push(literal);
    literal = "";
    dynamic = true;
    if (name === "topic") {
      parts.push((_tokens, topic) => topic);
      continue;
    }
    const one = /^(-?[1-9]\d{0,2})$/.exec(name);
    if (one !== null) {
      const n = Number(one[1]);
      parts.push((tokens, topic) => tokenAt(tokens, n, topic));
      continue;
    }
    const range = /^([1-9]\d{0,2})\.\.([1-9]\d{0,2})?$/.exec(name);
    if (range !== null) {
      const from = Number(range[1]);
      const to = range[2] === undefined ? undefined : Number(range[2]);
      if (to !== undefined && to < from) throw new SyntaxError(`{${name}} ends before it starts`);
      parts.push((tokens, topic) => {
        tokenAt(tokens, from, topic);
        if (to !== undefined) tokenAt(tokens, to, topic);
        return tokens.slice(from - 1, to).join(separator);
      });
      continue;
    }
    throw new SyntaxError(`unknown placeholder {${name}} (known: {topic}, {N}, {-N}, {N..}, {N..M})`);
  }
  if (literal !== "") parts.push(literal);
  if (parts.length === 0) throw new SyntaxError("the template is empty");
  const fixed = dynamic ? undefined : parts.join("");
  return {
    source: template,
    dynamic,
    render(topic: string): string {
      if (fixed !== undefined) return fixed;
      const tokens = topic.split(separator);
      if (tokens[0] === "" && tokens.length > 1) tokens.shift(); // "/a/b": the tokens are a, b
      let out = "";
      for (const p of parts) out += typeof p === "string" ? p : p(tokens, topic);
      return out;
    },
  };
}
