// Test-runner preload (bunfig.toml [test] preload): stops every target the run started once all files finish,
// because `bun test` fires no process "exit" event.
import { afterAll } from "bun:test";
import { stopAllTargets } from "./processes.ts";

afterAll(stopAllTargets);
