// Reads an MDB dataset. With MDB_URL (and MDB_DATASET) set, it talks to that
// broker using ~/.ssh/cert.crt and ~/.ssh/cert.key (CA from SSL_CA_BUNDLE);
// without, it starts a local nats-server and FakeMas and reads from those.
// Run: deno run -A examples/mdb.ts
import { Connection, Offset } from "../src/mdb/mod.ts";
import { MdbTestBed } from "../src/testing/mdb/mod.ts";

const url = Deno.env.get("MDB_URL");
const dataset = Deno.env.get("MDB_DATASET") ?? "demo";

let bed: MdbTestBed | undefined;
let conn: Connection;
if (url === undefined) {
  bed = await MdbTestBed.start();
  await bed.createDataset(dataset);
  for (let i = 1; i <= 3; i++) await bed.publish(dataset, JSON.stringify({ reading: i }), { "x-sensor": "demo" });
  conn = await bed.connect();
} else {
  conn = await Connection.connect(url);
}

try {
  const sub = await conn.subscribe(dataset, { offset: Offset.BEGIN, batch: 10 });
  console.log(`reading ${sub.subject} from stream ${sub.stream} as consumer ${sub.durable}`);
  let n = 0;
  for await (const msg of sub) {
    console.log(msg.sequence, msg.timestamp.toISOString(), msg.pending, msg.text());
    if (bed !== undefined && ++n === 3) break;
  }
} finally {
  await conn.close();
  await bed?.stop();
}
