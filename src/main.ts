#!/usr/bin/env bun
// Entry of the `iscsi` binary: parse, run one subcommand, and map errors to exit codes (the only place
// that exits the process with a code).
import { renderUsage, runCommand, type CommandDef } from "citty";
import { errorCodeOf, exitCodeFor } from "./contract/errors.ts";
import { setLogLevel } from "./log.ts";
import { main } from "./cli/index.ts";
import { isIscsiadmSyntax } from "./cli/_adm-args.ts";
import { VERSION } from "./version.ts";

async function resolve(cmd: CommandDef<any>, rawArgs: string[]): Promise<[CommandDef<any>, CommandDef<any> | undefined]> {
  let parent: CommandDef<any> | undefined;
  let current = cmd;
  for (const word of rawArgs) {
    if (word.startsWith("-")) continue;
    const subs = typeof current.subCommands === "function" ? await current.subCommands() : await current.subCommands;
    const next = subs?.[word];
    if (!next) break;
    parent = current;
    current = await (typeof next === "function" ? next() : next);
  }
  return [current, parent];
}

async function run(rawArgs: string[]): Promise<number> {
  if (rawArgs.includes("--debug") || rawArgs.includes("-d")) setLogLevel(4);
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-V")) {
    process.stdout.write(`iscsi ${VERSION}\n`);
    return 0;
  }
  if (isIscsiadmSyntax(rawArgs)) return runIscsiadmSyntax(rawArgs);
  if (rawArgs.length === 0 || rawArgs.includes("--help") || rawArgs.includes("-h")) {
    const [cmd, parent] = await resolve(main, rawArgs);
    process.stdout.write((await renderUsage(cmd, parent)) + "\n");
    return rawArgs.length === 0 ? 7 : 0;
  }
  try {
    await runCommand(main, { rawArgs });
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e?.name === "CLIError") {
      const [cmd, parent] = await resolve(main, rawArgs);
      process.stderr.write((await renderUsage(cmd, parent)) + "\n\n");
      process.stderr.write(`iscsi: ${e.message}\n`);
      return 7;
    }
    process.stderr.write(`iscsi: ${e?.message ?? String(err)}${process.env.ISCSI_DEBUG ? `\n${e?.stack}` : ""}\n`);
    if (errorCodeOf(err) === "GENERIC" && !(typeof e?.code === "string")) return 1;
    return exitCodeFor(err);
  }
}

/** iscsiadm's `-m MODE …` argv, which citty cannot parse; loaded only when used. */
async function runIscsiadmSyntax(rawArgs: string[]): Promise<number> {
  try {
    const { runIscsiadm } = await import("./cli/iscsiadm.ts");
    await runIscsiadm(rawArgs);
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`iscsi: ${e?.message ?? String(err)}${process.env.ISCSI_DEBUG ? `\n${e?.stack}` : ""}\n`);
    return exitCodeFor(err);
  }
}

const argv = process.argv.slice(2);
process.exitCode = await run(argv);
// A stopped daemon may still have logins in flight that the engine cannot abort; they must not keep it alive.
if (argv[0] === "daemon") process.exit();
