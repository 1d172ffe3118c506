/**
 * Input limits. The Track API v1 ones are those the public Customer.io documentation gives; the
 * Segment-spec ones are Segment's. Byte lengths are UTF-8 bytes.
 */
export const LIMITS = {
  identifierBytes: 150,
  anonymousIdBytes: 150,
  eventIdBytes: 150,
  attributeNameBytes: 150,
  attributeValueBytes: 1000,
  attributesPerCall: 300,
  eventNameBytes: 100,
  eventDataBytes: 100_000,
  /** Track API v1 request body, after decompression: the largest valid event plus room. */
  trackBodyBytes: 256 * 1024,
  segmentMessageBytes: 32 * 1024,
  segmentBatchBytes: 500 * 1024,
  /**
   * Messages per /v1/batch: ours, not Segment's (which has none). The SDKs send 15 to 100 at a
   * time; 2,000 keeps the per-item work and the problems of one request bounded.
   */
  segmentBatchItems: 2000,
  /** A timestamp more than this far ahead of received time is refused as a unit or clock error. */
  maxFutureSeconds: 24 * 60 * 60,
  /** Timestamps before 2000-01-01 are refused: almost always milliseconds/seconds confusion or a zero. */
  minTimestampSeconds: 946_684_800,
} as const;

export const byteLength = (value: string): number => Buffer.byteLength(value, 'utf8');
