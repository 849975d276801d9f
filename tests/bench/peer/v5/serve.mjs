// PostGraphile 5 for the side-by-side bench (tests/bench/peer/servers.py): the same schemas, smart tags and
// options as the PostGraphile 4 CLI there (makeV4Preset), one process, pool 10, no GraphiQL, no query log.
// node serve.mjs DATABASE_URL PORT TAGS_FILE
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makeV4Preset } from "postgraphile/presets/v4";
import { pgSmartTagsFromFile } from "postgraphile/utils";

const [connectionString, port, tagsFile] = process.argv.slice(2);

const preset = {
  extends: [
    PostGraphileAmberPreset,
    makeV4Preset({
      simpleCollections: "both",
      dynamicJson: true,
      setofFunctionsContainNulls: false,
      ignoreRBAC: false,
      ignoreIndexes: false,
      disableDefaultMutations: true,
      graphiql: false,
    }),
  ],
  plugins: [pgSmartTagsFromFile(tagsFile)],
  disablePlugins: ["TagsFilePlugin"], // the tags come from tagsFile, not from the working directory
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["commerce", "labor", "science", "education"],
      poolConfig: { max: 10 },
    }),
  ],
  grafserv: { graphiql: false, watch: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.once("listening", () => console.log(`PostGraphile 5 listening on ${port}`));
serv.addTo(server).then(() => server.listen(Number(port), "127.0.0.1"), (e) => {
  console.error(e);
  process.exit(1);
});
const stop = () => server.close(() => pgl.release().then(() => process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
