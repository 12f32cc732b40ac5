// Bounded, seeded fuzzing of the iSNSP codec: captured isnsd answers with bytes flipped, cut, repeated and
// lengths bent, fed through the framer and every parser. A run passes when each input either parses or fails
// with an IsnsError: no other exception, no hang, nothing read past the end. FUZZ_SEED replays a run.
import { expect, test } from "bun:test";
import { FUNCTION } from "../../src/isns/constants.ts";
import { IsnsError } from "../../src/isns/errors.ts";
import { parseResponse, parseScn, parseTargets, registrationPeriod } from "../../src/isns/messages.ts";
import { MessageFramer } from "../../src/isns/pdu.ts";
import { readIp, readPort, readString, readU32 } from "../../src/isns/tlv.ts";
import { Rng, seedFrom } from "../fuzz/prng.ts";
import { DEV_ATTR_QRY_RSP, DEV_ATTR_REG_RSP, DEV_DEREG_RSP, SCN, SCN_REG_RSP } from "./fixtures.ts";

const SEEDS = [DEV_ATTR_REG_RSP, DEV_ATTR_QRY_RSP, DEV_DEREG_RSP, SCN_REG_RSP, SCN];
const EPISODES = 20_000;

function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  const b = Array.from(input);
  for (let n = rng.range(1, 4); n > 0; n--) {
    switch (rng.int(6)) {
      case 0: // flip a byte
        b[rng.int(b.length)] = rng.u32() & 0xff;
        break;
      case 1: // cut the tail
        b.length = rng.int(b.length + 1);
        break;
      case 2: {
        // bend a 32-bit field (lengths and tags sit on 4-byte boundaries after the 12-byte header)
        const at = 12 + 4 * rng.int(Math.max(1, (b.length - 12) >> 2));
        const v = rng.interesting(b.length);
        for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (v >>> (24 - 8 * i)) & 0xff;
        break;
      }
      case 3: {
        // bend the PDU length or flags
        const at = rng.pick([4, 5, 6, 7]);
        if (at < b.length) b[at] = rng.u32() & 0xff;
        break;
      }
      case 4: // repeat a slice
        b.push(...b.slice(rng.int(b.length)));
        break;
      default: // random bytes appended
        b.push(...rng.bytes(rng.int(16)));
    }
  }
  return Uint8Array.from(b);
}

function exercise(bytes: Uint8Array): string {
  const framer = new MessageFramer();
  let outcome = "incomplete";
  for (const msg of framer.push(bytes)) {
    if (msg.functionId === FUNCTION.SCN) {
      parseScn(msg);
      outcome = "scn";
      continue;
    }
    const r = parseResponse(msg, { functionId: msg.functionId & 0x7fff, transactionId: msg.transactionId });
    registrationPeriod(r);
    parseTargets(r.operating);
    for (const a of r.operating)
      [readU32, readPort, readIp, readString].forEach((read) => {
        try {
          read(a);
        } catch (err) {
          if (!(err instanceof IsnsError)) throw err;
        }
      });
    outcome = "parsed";
  }
  return outcome;
}

test(`iSNSP codec fuzz: ${EPISODES} mutated answers parse or fail with IsnsError only`, () => {
  const seed = seedFrom(process.env.FUZZ_SEED);
  const outcomes: Record<string, number> = {};
  const findings: string[] = [];
  for (let episode = 0; episode < EPISODES; episode++) {
    const rng = Rng.episode(seed, episode);
    const input = mutate(rng, rng.pick(SEEDS));
    let outcome: string;
    try {
      outcome = exercise(input);
    } catch (err) {
      if (!(err instanceof IsnsError))
        findings.push(`seed ${seed} episode ${episode}: ${(err as Error)?.stack ?? err}`);
      outcome = "IsnsError";
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  expect(findings.slice(0, 5)).toEqual([]);
  // Enough of each kind for a clean run to mean something.
  expect(outcomes.parsed).toBeGreaterThan(1000);
  expect(outcomes.IsnsError).toBeGreaterThan(1000);
});
