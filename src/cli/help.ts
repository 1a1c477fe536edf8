/**
 * The `--help` texts of the `pubsub` program.
 *
 * @module
 */

const EXIT_CODES = `Exit codes:
  0    success
  1    runtime failure (protocol error, failed publish, lost messages, subscription ended early)
  2    usage error (unknown command or option, bad value, invalid URL or topic)
  3    connection failure (refused, lost, TLS)
  4    authentication failure (credentials refused or missing)
  5    timeout (--timeout expired, or the system timed out)
  130  interrupted (Ctrl-C, SIGTERM)
`;

const URLS = `URLs (see open()):
  nats://host:4222  nats+ws://host:8080  mdb+https://mas.example/  httppubsub+http://host:3003/
  streamsea+ws://host:port  streamsea+wss://…  messagebus://host:9001  messagebus+tls://…
  posttroll://nameserver/service  memory:
Credentials come from the URL or from each system's usual environment variables; they are never printed.
`;

/** The help texts, by command (`main` for `pubsub --help`). */
export const HELP: Readonly<Record<"main" | "sub" | "pub" | "bridge" | "bench" | "serve" | "fake", string>> = {
  main: `pubsub: one command line for every system of @x/pubsub

Usage: pubsub <command> [options]

Commands:
  sub URL TOPIC              print the messages published on TOPIC
  pub URL TOPIC [DATA|-]     publish DATA, or standard input, to TOPIC
  bridge FROM TO TOPIC       forward the messages of TOPIC from one system into another
  bench URL                  measure publish/subscribe round trips: rate and latency percentiles
  serve --config FILE        run the routes of FILE as a service: replicas, drain, health, metrics
  fake SYSTEM                run a fake server (streamsea, messagebus, httppubsub, mdb) for tests in any language
  help [COMMAND]             show this text, or a command's

Run "pubsub <command> --help" for a command's options.

${URLS}
${EXIT_CODES}`,

  sub: `Usage: pubsub sub URL TOPIC [options]

Prints every message published on TOPIC (a pattern, in the system's wildcard syntax): its payload
followed by a newline (none added when it ends with one), or one JSON object per line with --json.
Runs until --count messages came, --timeout passed, the subscription ended, or Ctrl-C.

Options:
  -j, --json           one JSON object per message: {topic, id?, time?, headers?, text | base64}
                       (base64 when the payload is not valid UTF-8)
  -n, --count N        stop after N messages (exit 0); fewer when the subscription ends: exit 1
  -t, --timeout MS     stop after MS milliseconds; with --count, exit 5 when fewer than N came
  -g, --group NAME     share the messages with the other subscribers of group NAME
  -q, --quiet          do not print "subscribed" on stderr once the subscription is active
  -h, --help           show this text

Example:
  pubsub sub nats://127.0.0.1:4222 'orders.>' --json --count 10

${EXIT_CODES}`,

  pub: `Usage: pubsub pub URL TOPIC [DATA|-] [options]

Publishes DATA to TOPIC. With "-", or without DATA, publishes standard input as one message
(bytes as they are), or one message per line with --lines. Exits once the system confirmed
each message (or, where it has no confirmations, once the bytes were written).

Options:
  -H, --header "N: V"  add a header (repeatable), where the system carries headers
  -l, --lines          publish each line of standard input as its own message
  -j, --json           print each receipt as JSON: {topic, confirmed, id?, sequence?}
  -t, --timeout MS     give up after MS milliseconds (exit 5)
  -h, --help           show this text

Examples:
  pubsub pub nats://127.0.0.1:4222 orders.new '{"id":1}'
  tail -f app.log | pubsub pub --lines messagebus://127.0.0.1:9001 logs

${EXIT_CODES}`,

  bridge: `Usage: pubsub bridge FROM TO TOPIC [options]

Forwards the messages of TOPIC from the system at FROM into the system at TO, one at a time:
a source message is acknowledged only after TO took it (confirmed, or written where TO has no
confirmations), and a failed publish naks it so it comes again (where FROM settles: JetStream,
MDB with manual acks). Prints the counters at the end (on stdout):
  received confirmed written skipped failed acked naked
"confirmed" counts at-least-once deliveries; "written" counts those TO only reported written.
Runs until --count messages, --timeout, the source ended, or Ctrl-C.

Options:
      --topic TOPIC    the source topic, instead of the third argument
      --to-topic T     publish everything to T (default each message's own topic)
  -g, --group NAME     read the source as a member of group NAME
  -n, --count N        stop after N messages (exit 0)
  -t, --timeout MS     stop after MS milliseconds; with --count, exit 5 when fewer than N came
      --on-error MODE  "nak" (default): nak and go on; "stop": stop with the error (exit 1, 3, 4…)
  -j, --json           print the counters as JSON
  -q, --quiet          do not print "bridging" on stderr once the source subscription is active
  -h, --help           show this text

A live counter line is drawn on stderr when it is a terminal.

Example:
  pubsub bridge nats://127.0.0.1:4222 streamsea+ws://127.0.0.1:8080 orders --count 1000

${EXIT_CODES}`,

  fake: `Usage: pubsub fake <system> [options]

Runs the fake server of streamsea, messagebus, httppubsub or mdb as a standalone dev server: it
prints one JSON line with its URLs and credentials, serves an admin endpoint on 127.0.0.1, and
runs until Ctrl-C or SIGTERM (exit 0). "pubsub fake --help" and "pubsub fake <system> --help"
tell more; docs/testing.md shows how to use it from a shell, Deno and pytest.
`,

  bench: `Usage: pubsub bench URL [options]

Subscribes to a fresh topic, publishes --count messages to it, --in-flight at a time, and reports
the round-trip rate and the latency percentiles (min, p50, p90, p99, max) from publish to receipt
by the subscriber. A live progress line is drawn on stderr when it is a terminal.

Options:
  -n, --count N        messages to send (default 1000)
  -s, --size BYTES     payload size, at least 64 (default 128); a JSON object, so JSON-only systems take it
  -w, --in-flight N    messages published and not yet back, at most (default 1: pure latency)
      --topic TOPIC    the topic (default pubsub-bench-<random>); it must be free of other traffic
  -t, --timeout MS     fail when no message came back for MS milliseconds (default 10000, exit 5)
  -j, --json           print the figures as JSON
  -h, --help           show this text

Exit 1 when a message was lost.

Example:
  pubsub bench nats+ws://127.0.0.1:8080 --count 10000 --in-flight 64

${EXIT_CODES}`,

  serve: `Usage: pubsub serve --config FILE [options]

Runs the routes of FILE (JSON with comments) until SIGTERM or SIGINT. Each route reads a
source topic, optionally runs it through a transform module, publishes into a target, and
acks each source message only after the target took all its outputs; what the target refuses
is retried, then dead-lettered (or nak'd). Run several replicas of the same FILE: sources with
consumer groups share the work (JetStream and MDB through one durable consumer, core NATS
through a queue group, stream-sea through its group); PostTroll, messagebus and httppubsub
routes run in one replica (serve warns when "replicas" says otherwise).

On SIGTERM or SIGINT: stops taking messages, naks what was fetched ahead, finishes what is in
flight until drainTimeoutMs (then naks it), closes, exits 0. A second signal exits 130 at once.

Options:
  -c, --config FILE        the configuration (required); see docs/bridge.md and examples/bridge.jsonc
  -l, --listen HOST:PORT   where /healthz, /readyz and /metrics listen, instead of the file's
                           "listen" (default 127.0.0.1:9464; port 0 picks a free one; "off": none)
      --drain-timeout MS   how long the drain may take, instead of the file's drainTimeoutMs (10000)
      --check              read FILE, load its transforms, print the routes and how replicas
                           share them, and exit (0, or 2 with the line of the mistake)
  -h, --help               show this text

FILE, in short:
  {
    "replicas": 3,                        // how many copies of FILE run
    "routes": [{
      "name": "orders",
      "from": { "url": "nats://\${NATS_TOKEN}@nats:4222?jetstream", "topic": "orders.>" },
      "to": { "url": "nats://\${NATS_TOKEN}@nats:4222?jetstream", "topic": "audit.{topic}" },
      "transform": "./enrich.ts",         // default export: (ctx) => new TransformStream(...)
      "maxInFlight": 64,
      "retry": { "attempts": 5, "delayMs": 200, "maxDelayMs": 5000 },
      "deadLetter": { "topic": "refused.{topic}" }
    }]
  }
  \${NAME} is the environment variable NAME: secrets must be written that way.

Log lines go to stderr. Exit codes: 0 drained after a signal (or --check passed), 1 runtime
failure, 2 a mistake in FILE or the options (the message names the line), 130 a second signal.
`,
};
