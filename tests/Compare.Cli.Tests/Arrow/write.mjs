// Writes JSON lines (id, text) as Parquet with arrow-rs, through parquet-wasm, adding an int64 column "year" (2000 + line
// number mod 20). Arguments: input.jsonl output.parquet compression max-rows-per-group writer-version (V1 or V2).
import fs from "node:fs";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import * as parquet from "parquet-wasm/node";

const [input, output, compression, rowsPerGroup, version] = process.argv.slice(2);
const records = fs.readFileSync(input, "utf8").split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line));
const table = tableFromArrays({
  id: records.map((r) => String(r.id)),
  text: records.map((r) => r.text),
  year: BigInt64Array.from(records.map((_, i) => BigInt(2000 + (i % 20)))),
});
const properties = new parquet.WriterPropertiesBuilder()
  .setCompression(parquet.Compression[compression])
  .setMaxRowGroupSize(Number(rowsPerGroup))
  .setWriterVersion(parquet.WriterVersion[version])
  .setDictionaryEnabled(true)
  .build();
fs.writeFileSync(output, parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(table, "stream")), properties));
