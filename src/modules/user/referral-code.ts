import { randomInt } from 'node:crypto'

/** No 0/O, 1/I/L: codes get read aloud, typed from screenshots and printed on flyers. */
export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'
export const CODE_LENGTH = 7

/** 31^7 ≈ 2.7e10 codes per campaign; collisions are rare and retried by the caller. */
export function generateReferralCode(): string {
  let code = ''
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]
  return code
}

/** Codes are matched case-insensitively, ignoring spaces and dashes people add when copying. */
export function normaliseReferralCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase()
}
