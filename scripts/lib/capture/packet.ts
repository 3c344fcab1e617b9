// Link layer -> IP -> TCP decoding into ONE reused TcpSegment (offsets into the packet buffer, no
// copies, no per-packet objects). Link types: Ethernet (with VLAN tags), Linux cooked v1/v2
// (`tcpdump -i any`), BSD/OpenBSD loopback, raw IP. IPv6 extension headers are walked; IP
// fragments are counted and skipped (not reassembled: loopback and kind node traffic uses path
// MTU discovery, so TCP segments are not fragmented there).
import type { PacketRef } from './pcap.ts';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

export interface TcpSegment {
  buf: Buffer;
  v6: boolean;
  /** Offsets of the source and destination address in buf (4 or 16 bytes). */
  srcOff: number;
  dstOff: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  payloadOff: number;
  /** Payload bytes present in the capture. */
  payloadCapLen: number;
  /** Payload bytes on the wire (per the IP header); more than payloadCapLen when snapped. */
  payloadLen: number;
}

export interface DecodeStats {
  packets: number;
  tcp: number;
  ipv4: number;
  ipv6: number;
  /** Not IP (ARP, LLDP, ...). */
  nonIp: number;
  /** IP but not TCP (UDP, ICMP, ESP, ...). */
  nonTcp: number;
  /** IP fragments (skipped). */
  fragments: number;
  /** Headers cut by the snap length or inconsistent lengths. */
  malformed: number;
  /** Packets per link type this decoder does not know. */
  unsupportedLinkTypes: Record<number, number>;
}

export function newStats(): DecodeStats {
  return {
    packets: 0,
    tcp: 0,
    ipv4: 0,
    ipv6: 0,
    nonIp: 0,
    nonTcp: 0,
    fragments: 0,
    malformed: 0,
    unsupportedLinkTypes: {},
  };
}

export function newSegment(): TcpSegment {
  return {
    buf: Buffer.alloc(0),
    v6: false,
    srcOff: 0,
    dstOff: 0,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    payloadOff: 0,
    payloadCapLen: 0,
    payloadLen: 0,
  };
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** Fills `seg` and returns true when the packet is a decodable TCP segment; counts the rest. */
export function decodeTcp(p: PacketRef, seg: TcpSegment, stats: DecodeStats): boolean {
  stats.packets++;
  const b = p.buf;
  const start = p.offset;
  const capEnd = start + p.capLen;
  let ethertype = -1;
  let ip = start;
  switch (p.linkType) {
    case 1: {
      if (p.capLen < 14) return malformed(stats);
      ethertype = b.readUInt16BE(start + 12);
      ip = start + 14;
      // 802.1Q / 802.1ad / QinQ tags.
      while ((ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) && ip + 4 <= capEnd) {
        ethertype = b.readUInt16BE(ip + 2);
        ip += 4;
      }
      break;
    }
    case 113:
      if (p.capLen < 16) return malformed(stats);
      ethertype = b.readUInt16BE(start + 14);
      ip = start + 16;
      break;
    case 276:
      if (p.capLen < 20) return malformed(stats);
      ethertype = b.readUInt16BE(start);
      ip = start + 20;
      break;
    case 0:
    case 108: {
      if (p.capLen < 4) return malformed(stats);
      // NULL stores the address family in the writer's byte order; LOOP in network order.
      const fam = p.linkType === 108 ? b.readUInt32BE(start) : familyEitherOrder(b, start);
      ethertype = fam === 2 ? ETH_IPV4 : fam === 10 || fam === 24 || fam === 28 || fam === 30 ? ETH_IPV6 : -1;
      ip = start + 4;
      break;
    }
    case 12:
    case 14:
    case 101:
    case 228:
    case 229: {
      if (p.capLen < 1) return malformed(stats);
      const v = b[start]! >> 4;
      ethertype = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : -1;
      break;
    }
    default:
      stats.unsupportedLinkTypes[p.linkType] = (stats.unsupportedLinkTypes[p.linkType] ?? 0) + 1;
      return false;
  }
  // Where the frame's IP packet ends on the wire (frame length minus link header), used when the IP
  // length field is 0 (TSO/BIG TCP super-packets, IPv6 jumbograms).
  const frameWireEnd = start + p.origLen;
  if (ethertype === ETH_IPV4) return decodeIpv4(b, ip, capEnd, frameWireEnd, seg, stats);
  if (ethertype === ETH_IPV6) return decodeIpv6(b, ip, capEnd, frameWireEnd, seg, stats);
  stats.nonIp++;
  return false;
}

function familyEitherOrder(b: Buffer, at: number): number {
  const le = b.readUInt32LE(at);
  return le < 256 ? le : b.readUInt32BE(at);
}

function malformed(stats: DecodeStats): false {
  stats.malformed++;
  return false;
}

function decodeIpv4(
  b: Buffer,
  ip: number,
  capEnd: number,
  frameWireEnd: number,
  seg: TcpSegment,
  stats: DecodeStats,
): boolean {
  if (ip + 20 > capEnd || b[ip]! >> 4 !== 4) return malformed(stats);
  stats.ipv4++;
  const ihl = (b[ip]! & 0x0f) * 4;
  const total = b.readUInt16BE(ip + 2);
  if (ihl < 20 || ip + ihl > capEnd) return malformed(stats);
  const wireEnd = total === 0 ? frameWireEnd : ip + total;
  if (total !== 0 && total < ihl) return malformed(stats);
  const frag = b.readUInt16BE(ip + 6);
  if ((frag & 0x3fff) !== 0) {
    stats.fragments++;
    return false;
  }
  if (b[ip + 9] !== 6) {
    stats.nonTcp++;
    return false;
  }
  seg.v6 = false;
  seg.srcOff = ip + 12;
  seg.dstOff = ip + 16;
  return decodeTcpHeader(b, ip + ihl, capEnd, wireEnd, seg, stats);
}

function decodeIpv6(
  b: Buffer,
  ip: number,
  capEnd: number,
  frameWireEnd: number,
  seg: TcpSegment,
  stats: DecodeStats,
): boolean {
  if (ip + 40 > capEnd || b[ip]! >> 4 !== 6) return malformed(stats);
  stats.ipv6++;
  const plen = b.readUInt16BE(ip + 4);
  const wireEnd = plen === 0 ? frameWireEnd : ip + 40 + plen;
  let next = b[ip + 6]!;
  let p = ip + 40;
  // Walk the extension header chain (bounded: a hostile chain cannot loop forever).
  for (let hops = 0; hops < 16; hops++) {
    if (next === 6) {
      seg.v6 = true;
      seg.srcOff = ip + 8;
      seg.dstOff = ip + 24;
      return decodeTcpHeader(b, p, capEnd, wireEnd, seg, stats);
    }
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (p + 2 > capEnd) return malformed(stats);
      next = b[p]!;
      p += (b[p + 1]! + 1) * 8;
    } else if (next === 44) {
      if (p + 8 > capEnd) return malformed(stats);
      const offM = b.readUInt16BE(p + 2);
      // Offset 0 without the M flag is an "atomic fragment": the whole packet, keep going.
      if ((offM & 0xfff9) !== 0) {
        stats.fragments++;
        return false;
      }
      next = b[p]!;
      p += 8;
    } else if (next === 51) {
      if (p + 2 > capEnd) return malformed(stats);
      next = b[p]!;
      p += (b[p + 1]! + 2) * 4;
    } else {
      // ESP (50), no next header (59), UDP, ICMPv6, ...
      stats.nonTcp++;
      return false;
    }
  }
  return malformed(stats);
}

function decodeTcpHeader(
  b: Buffer,
  t: number,
  capEnd: number,
  wireEnd: number,
  seg: TcpSegment,
  stats: DecodeStats,
): boolean {
  if (t + 20 > capEnd) return malformed(stats);
  const doff = (b[t + 12]! >> 4) * 4;
  if (doff < 20 || t + doff > wireEnd) return malformed(stats);
  stats.tcp++;
  seg.buf = b;
  seg.srcPort = b.readUInt16BE(t);
  seg.dstPort = b.readUInt16BE(t + 2);
  seg.seq = b.readUInt32BE(t + 4);
  seg.ack = b.readUInt32BE(t + 8);
  seg.flags = b[t + 13]!;
  seg.payloadOff = t + doff;
  seg.payloadLen = wireEnd - seg.payloadOff;
  // Ethernet padding lies beyond the IP length: never count it as payload.
  seg.payloadCapLen = Math.max(0, Math.min(capEnd, wireEnd) - seg.payloadOff);
  return true;
}

/** Text form of the address at `off` (IPv4 dotted quad, IPv6 in RFC 5952 short form). */
export function formatAddress(b: Buffer, off: number, v6: boolean): string {
  if (!v6) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(off + i * 2));
  // IPv4-mapped ::ffff:a.b.c.d
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  // Longest run of two or more zero words becomes "::" (the first one on a tie).
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestAt < 0) return hex(words);
  return `${hex(words.slice(0, bestAt))}::${hex(words.slice(bestAt + bestLen))}`;
}

/** "ip:port", with brackets for IPv6. */
export function formatEndpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}
