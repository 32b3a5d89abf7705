// Access tokens: HS256 JWTs carrying the user id (sub) and role.
import { jwtVerify, SignJWT } from 'jose';
import type { Role } from './user-model';

const ISSUER = 'class-marketplace';

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

  /** The claims of a valid token, or undefined for anything else (bad signature, expired, malformed). */
  async verify(token: string): Promise<TokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || (role !== 'student' && role !== 'teacher' && role !== 'admin')) {
        return undefined;
      }
      return { userId: payload.sub, role };
    } catch {
      return undefined;
    }
  }
}
