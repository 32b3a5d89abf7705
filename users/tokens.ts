// Access tokens: HS256 JWTs carrying the user id (sub) and role.
import { jwtVerify, SignJWT } from 'jose';
import type { Role } from './user-model';

const ISSUER = 'class-marketplace';
/** User ids are UUIDs; a `sub` of another form names nobody (and must never reach a uuid query). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TokenClaims {
  userId: string;
  role: Role;
}

export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlMinutes: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(claims: TokenClaims): Promise<string> {
    return new SignJWT({ role: claims.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlMinutes}m`)
      .sign(this.key);
  }

  /**
   * The claims of a valid token, or undefined for anything else (bad signature,
   * expired, no expiry at all, a subject that is not a user id, malformed).
   */
  async verify(token: string): Promise<TokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
        // A token without `exp` would be valid forever: never one of ours.
        requiredClaims: ['exp', 'sub'],
      });
      const role = payload.role;
      if (
        typeof payload.sub !== 'string' ||
        !UUID.test(payload.sub) ||
        (role !== 'student' && role !== 'teacher' && role !== 'admin')
      ) {
        return undefined;
      }
      return { userId: payload.sub, role };
    } catch {
      return undefined;
    }
  }
}
