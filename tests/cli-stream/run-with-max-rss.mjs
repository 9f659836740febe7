// Runs a Node entry point in this process and prints its peak RSS (KiB) to stderr at exit:
//   node run-with-max-rss.mjs ENTRY.js ARGS...
import { writeSync } from 'node:fs';

const [entry, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], entry, ...args];
process.on('exit', () => writeSync(2, `\nMAXRSS_KB ${process.resourceUsage().maxRSS}\n`));
await import(entry);
