#!/usr/bin/env bun
// Entry of the `iscsi` binary: parse, run one subcommand, and map errors to exit codes (the only place
// that exits the process with a code).
import { renderUsage, type CommandDef } from "citty";
import { exitCodeFor, IscsiError } from "./contract/errors.ts";
import { setLogLevel } from "./log.ts";
import { main, subCommands } from "./cli/index.ts";
import { parseStrict, suggestion } from "./cli/_argv.ts";
import { isBrokenPipe } from "./cli/_output.ts";
import { isIscsiadmSyntax } from "./cli/_adm-args.ts";
import { VERSION } from "./version.ts";

interface Resolved {
  cmd: CommandDef<any>;
  parent: CommandDef<any> | undefined;
  /** "iscsi service install" */
  path: string;
  /** The argv words that belong to the leaf command. */
  rest: string[];
}

/** Walk the subcommand words; options before a subcommand word are checked against the parent's table. */
async function resolve(root: CommandDef<any>, rawArgs: string[], forHelp = false): Promise<Resolved> {
  let parent: CommandDef<any> | undefined;
  let cmd = root;
  let path = "iscsi";
  let rest = rawArgs;
  for (;;) {
    const subs = await resolveValue(cmd.subCommands);
    if (!subs) return { cmd, parent, path, rest };
    const at = rest.findIndex((w) => !w.startsWith("-"));
    if (forHelp && (at < 0 || !subs[rest[at]!])) return { cmd, parent, path, rest };
    if (at < 0)
      throw new IscsiError("INVALID_ARGUMENT", `\`${path}\` needs a command: ${Object.keys(subs).join(", ")}`);
    const word = rest[at]!;
    const next = subs[word];
    if (!next)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `unknown command ${JSON.stringify(word)} for \`${path}\`${suggestion(word, Object.keys(subs))}`,
      );
    if (!forHelp) parseStrict((await resolveValue(cmd.args)) ?? {}, rest.slice(0, at), path);
    parent = cmd;
    cmd = await resolveValue(next);
    path = `${path} ${word}`;
    rest = rest.slice(at + 1);
  }
}

async function resolveValue<T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

async function run(rawArgs: string[]): Promise<number> {
  if (rawArgs.includes("--debug") || rawArgs.includes("-d")) setLogLevel(4);
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-V")) {
    process.stdout.write(`iscsi ${VERSION}\n`);
    return 0;
  }
  if (isIscsiadmSyntax(rawArgs, Object.keys(subCommands))) return runIscsiadmSyntax(rawArgs);
  if (rawArgs.length === 0 || rawArgs.includes("--help") || rawArgs.includes("-h")) {
    const { cmd, parent } = await resolve(
      main,
      rawArgs.filter((w) => w !== "--help" && w !== "-h"),
      true,
    );
    process.stdout.write((await renderUsage(cmd, parent)) + "\n");
    return rawArgs.length === 0 ? 7 : 0;
  }
  try {
    const { cmd, path, rest } = await resolve(main, rawArgs);
    const args = parseStrict((await resolveValue(cmd.args)) ?? {}, rest, path);
    await cmd.run?.({ rawArgs: rest, args: args as never, cmd });
    return 0;
  } catch (err) {
    return report(err);
  }
}

/** Print an error once, on stderr, and return its exit code from the catalogue. */
function report(err: unknown): number {
  const e = err as Error;
  if (isBrokenPipe(err)) return EXIT_BROKEN_PIPE;
  if ((err as { reported?: unknown })?.reported === true) return exitCodeFor(err); // already on stderr
  process.stderr.write(`iscsi: ${e?.message ?? String(err)}${process.env.ISCSI_DEBUG ? `\n${e?.stack}` : ""}\n`);
  return exitCodeFor(err);
}

/** iscsiadm's `-m MODE …` argv, which citty cannot parse; loaded only when used. */
async function runIscsiadmSyntax(rawArgs: string[]): Promise<number> {
  try {
    const { runIscsiadm } = await import("./cli/iscsiadm.ts");
    await runIscsiadm(rawArgs);
    return 0;
  } catch (err) {
    return report(err);
  }
}

/** What a shell reports for a tool killed by SIGPIPE (128 + 13): a reader such as `head` closed our stdout. */
const EXIT_BROKEN_PIPE = 141;

// Writes to a closed pipe fail asynchronously on process.stdout: end quietly, without a stack trace.
process.stdout.on("error", (err) => {
  if (!isBrokenPipe(err)) throw err;
  process.exit(EXIT_BROKEN_PIPE);
});

const argv = process.argv.slice(2);
process.exitCode = await run(argv);
// A stopped daemon may still have logins in flight that the engine cannot abort; they must not keep it alive.
if (argv[0] === "daemon") process.exit();
