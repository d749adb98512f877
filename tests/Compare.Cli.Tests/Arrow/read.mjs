// Reads a Parquet file with arrow-rs, through parquet-wasm, and prints its schema and its rows' ids and years as JSON.
import fs from "node:fs";
import { tableFromIPC } from "apache-arrow";
import * as parquet from "parquet-wasm/node";

const table = tableFromIPC(parquet.readParquet(new Uint8Array(fs.readFileSync(process.argv[2]))).intoIPCStream());
console.log(JSON.stringify({
  fields: table.schema.fields.map((f) => `${f.name}:${f.type}`),
  ids: [...table.getChild("id")],
  years: [...table.getChild("year")].map(String),
  texts: [...table.getChild("text")].map((t) => t.length),
}));
