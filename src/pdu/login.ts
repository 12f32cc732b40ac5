// Login Request and Login Response PDUs, RFC 7143 §11.12 and §11.13.

import { bit, beginBhs, beginDecode, readIsid, writeIsid } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type Fields, type LoginRequest, type LoginResponse } from "./types.ts";

/** Byte 1 of both Login PDUs: T C . . CSG(2) NSG(2) (RFC 7143 §11.12.1–§11.12.3). */
function stageByte(f: { transit: boolean; continue: boolean; csg: number; nsg: number }): number {
  return (f.transit ? 0x80 : 0) | (f.continue ? 0x40 : 0) | ((f.csg & 0x03) << 2) | (f.nsg & 0x03);
}

/** Login Request, RFC 7143 §11.12. The I bit is always 1 for a Login Request, whatever `immediate` says. */
export function encodeLoginRequest(f: Fields<LoginRequest>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.LoginRequest, stageByte(f), { ...f, immediate: true });
  out[2] = f.versionMax;
  out[3] = f.versionMin;
  writeIsid(v, f.isid);
  v.setUint16(14, f.tsih);
  v.setUint32(16, f.itt);
  v.setUint16(20, f.cid);
  v.setUint32(24, f.cmdSN);
  v.setUint32(28, f.expStatSN);
  return out;
}

export function decodeLoginRequest(bhs: Uint8Array): LoginRequest {
  const { view: v, common } = beginDecode(bhs, Opcode.LoginRequest);
  return {
    ...common,
    transit: bit(bhs, 0x80),
    continue: bit(bhs, 0x40),
    csg: (bhs[1]! >>> 2) & 0x03,
    nsg: bhs[1]! & 0x03,
    versionMax: bhs[2]!,
    versionMin: bhs[3]!,
    isid: readIsid(v),
    tsih: v.getUint16(14),
    itt: v.getUint32(16),
    cid: v.getUint16(20),
    cmdSN: v.getUint32(24),
    expStatSN: v.getUint32(28),
  };
}

/** Login Response, RFC 7143 §11.13. */
export function encodeLoginResponse(
  f: Fields<LoginResponse>,
  out: Uint8Array = new Uint8Array(BHS_LENGTH),
): Uint8Array {
  const v = beginBhs(out, Opcode.LoginResponse, stageByte(f), f);
  out[2] = f.versionMax;
  out[3] = f.versionActive;
  writeIsid(v, f.isid);
  v.setUint16(14, f.tsih);
  v.setUint32(16, f.itt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  out[36] = f.statusClass;
  out[37] = f.statusDetail;
  return out;
}

export function decodeLoginResponse(bhs: Uint8Array): LoginResponse {
  const { view: v, common } = beginDecode(bhs, Opcode.LoginResponse);
  return {
    ...common,
    transit: bit(bhs, 0x80),
    continue: bit(bhs, 0x40),
    csg: (bhs[1]! >>> 2) & 0x03,
    nsg: bhs[1]! & 0x03,
    versionMax: bhs[2]!,
    versionActive: bhs[3]!,
    isid: readIsid(v),
    tsih: v.getUint16(14),
    itt: v.getUint32(16),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
    statusClass: bhs[36]!,
    statusDetail: bhs[37]!,
  };
}
