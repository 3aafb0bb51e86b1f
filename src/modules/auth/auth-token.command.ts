import { createSecretKey } from 'node:crypto';
import type { Command } from 'commander';
import { SignJWT } from 'jose';
import { isValidSlug } from 'src/common/slug';
import type { BoardsConfig } from 'src/core/config/boards-config';

export interface DevelopmentTokenOptions {
  readonly sub: string;
  /** The tenant claim; left out, the token names no tenant (to register one, or use X-Tenant). */
  readonly tenant?: string;
  readonly email?: string;
  /** Adds `email_verified: true` (invitations and tenant domains need it). */
  readonly emailVerified?: boolean;
  readonly name?: string;
  /** Lifetime such as `90s`, `30m`, `1h`, `7d` (a bare number is seconds). */
  readonly ttl: string;
  /** Extra claims as `key=value`; a value that parses as JSON is used as JSON. */
  readonly claim: readonly string[];
}

const RESERVED_CLAIMS = new Set(['sub', 'iat', 'exp', 'nbf', 'iss', 'aud']);
const TTL = /^(\d+)([smhd]?)$/;
const TTL_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 };
const MAX_TTL_SECONDS = 365 * 86_400;

/** Thrown for a refused or malformed request; the CLI prints its message and exits non-zero. */
export class AuthTokenCommandError extends Error {}

export function parseTtl(value: string): number {
  const match = TTL.exec(value.trim());
  const seconds = match ? Number(match[1]) * TTL_UNITS[match[2]] : NaN;
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > MAX_TTL_SECONDS) {
    throw new AuthTokenCommandError(
      `--ttl "${value}" is not a lifetime such as 90s, 30m, 1h or 7d (at most 365d)`,
    );
  }
  return seconds;
}

/**
 * Signs a development token with BOARDS_JWT_SECRET: HS256, or the configured HS algorithm, with
 * BOARDS_JWT_ISSUER/AUDIENCE when set and the tenant under BOARDS_JWT_TENANT_CLAIM (default
 * `tenant`), so the server configured by the same environment accepts it. Refused in production.
 */
export async function signDevelopmentToken(
  config: BoardsConfig,
  options: DevelopmentTokenOptions,
  now: Date = new Date(),
): Promise<string> {
  const { jwt } = config.auth;
  if (config.isProduction) {
    throw new AuthTokenCommandError(
      'auth token is refused when BOARDS_ENVIRONMENT=production: development tokens must not be minted there',
    );
  }
  if (!jwt.secret) {
    throw new AuthTokenCommandError(
      'BOARDS_JWT_SECRET is not set: auth token signs HS256 development tokens with it',
    );
  }
  if (!options.sub.trim() || options.sub.length > 255) {
    throw new AuthTokenCommandError('--sub must be 1 to 255 characters');
  }
  if (options.tenant !== undefined && !isValidSlug(options.tenant)) {
    throw new AuthTokenCommandError(
      `--tenant "${options.tenant}" is not a tenant slug (lowercase letters, digits, inner hyphens)`,
    );
  }
  const claims: Record<string, unknown> = {};
  for (const entry of options.claim) {
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq) : '';
    if (!key) throw new AuthTokenCommandError(`--claim "${entry}" is not key=value`);
    if (RESERVED_CLAIMS.has(key)) {
      throw new AuthTokenCommandError(`--claim cannot set "${key}"; use --sub and --ttl`);
    }
    claims[key] = parseClaimValue(entry.slice(eq + 1));
  }
  if (options.tenant !== undefined) claims[jwt.tenantClaim] = options.tenant;
  if (options.email) claims.email = options.email;
  if (options.emailVerified) claims.email_verified = true;
  if (options.name) claims.name = options.name;

  const algorithm = jwt.algorithm.startsWith('HS') ? jwt.algorithm : 'HS256';
  const issuedAt = Math.floor(now.getTime() / 1000);
  let builder = new SignJWT(claims)
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + parseTtl(options.ttl));
  if (jwt.issuer) builder = builder.setIssuer(jwt.issuer);
  if (jwt.audience) builder = builder.setAudience(jwt.audience);
  return builder.sign(createSecretKey(Buffer.from(jwt.secret, 'utf8')));
}

function parseClaimValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** `boards auth token …`: prints only the token on stdout (notes go to stderr). */
export function registerAuthCommands(program: Command, loadConfig: () => BoardsConfig): void {
  const auth = program.command('auth').description('authentication helpers');
  auth
    .command('token')
    .description('print a development token signed with BOARDS_JWT_SECRET (never in production)')
    .requiredOption('--sub <subject>', 'subject (sub claim)')
    .option('--tenant <slug>', 'tenant slug (the tenant claim); omit for a token naming no tenant')
    .option('--email <email>', 'email claim')
    .option('--email-verified', 'add email_verified: true (invitations and tenant domains need it)')
    .option('--name <name>', 'name claim')
    .option('--ttl <duration>', 'lifetime: 90s, 30m, 1h, 7d', '1h')
    .option(
      '--claim <key=value>',
      'extra claim, repeatable; JSON values are parsed',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (options: DevelopmentTokenOptions) => {
      const config = loadConfig();
      const token = await signDevelopmentToken(config, options);
      if (!config.auth.providers.includes('jwt')) {
        process.stderr.write(
          'note: BOARDS_AUTH_PROVIDER does not include jwt, so this server will not accept the token\n',
        );
      } else if (!config.auth.jwt.algorithm.startsWith('HS')) {
        process.stderr.write(
          `note: the server verifies ${config.auth.jwt.algorithm}, so it will not accept this HS token\n`,
        );
      }
      process.stdout.write(`${token}\n`);
    });
}
