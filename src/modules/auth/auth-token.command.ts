import { createSecretKey } from 'node:crypto';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SignJWT } from 'jose';
import { isValidSlug } from 'src/common/slug';
import type { AuthConfig, BoardsConfig } from 'src/core/config/boards-config';

export interface DevelopmentTokenOptions {
  readonly sub: string;
  /** The tenant claim; left out, the token names no tenant (to register one, or use X-Tenant). */
  readonly tenant?: string;
  readonly email?: string;
  /** Adds `email_verified: true` (invitations and tenant domains need it). */
  readonly emailVerified?: boolean;
  readonly name?: string;
  /** Lifetime in seconds (`--ttl` through {@link parseTtl}). */
  readonly ttl: number;
  /** Extra claims (`--claim key=value` through {@link collectClaim}). */
  readonly claim?: Readonly<Record<string, unknown>>;
}

export interface DevelopmentToken {
  readonly token: string;
  /** `--claim` names that an explicit flag replaced, each as a note for stderr. */
  readonly overridden: readonly string[];
}

const TTL = /^(\d+)([smhd]?)$/;
const TTL_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 };
const MAX_TTL_SECONDS = 365 * 86_400;
const DEFAULT_TTL_SECONDS = 3_600;

/** Thrown for a refused request; the CLI prints its message and exits non-zero. */
export class AuthTokenCommandError extends Error {}

/** `--ttl`: `90s`, `30m`, `1h`, `7d` or bare seconds, 1 s to 365 d; anything else is refused. */
export function parseTtl(value: string): number {
  const match = TTL.exec(value.trim());
  const seconds = match ? Number(match[1]) * TTL_UNITS[match[2]] : NaN;
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > MAX_TTL_SECONDS) {
    throw new InvalidArgumentError('Use a lifetime such as 90s, 30m, 1h or 7d (at most 365d).');
  }
  return seconds;
}

/** `--claim key=value`, repeatable: a value that parses as JSON is used as JSON. */
export function collectClaim(
  entry: string,
  previous: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const eq = entry.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError('Use key=value, e.g. --claim team=qa.');
  return { ...previous, [entry.slice(0, eq)]: parseClaimValue(entry.slice(eq + 1)) };
}

function parseClaimValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * The token's claims besides the registered ones the signer adds. Precedence, per claim name:
 * 1. a claim the command sets itself (sub, iat, exp; iss and aud when BOARDS_JWT_ISSUER or
 *    BOARDS_JWT_AUDIENCE is set) cannot come from --claim: refused;
 * 2. an explicit flag (--tenant for the BOARDS_JWT_TENANT_CLAIM name, --email, --email-verified,
 *    --name) wins over a --claim of the same name, which is reported in `overridden`;
 * 3. every other --claim is kept as given (the tenant claim too, when --tenant is left out).
 */
function developmentClaims(
  jwt: AuthConfig['jwt'],
  options: DevelopmentTokenOptions,
): { claims: Record<string, unknown>; overridden: string[] } {
  const controlled: Record<string, string> = { sub: '--sub', iat: '--ttl', exp: '--ttl' };
  if (jwt.issuer) controlled.iss = 'BOARDS_JWT_ISSUER';
  if (jwt.audience) controlled.aud = 'BOARDS_JWT_AUDIENCE';
  const claims: Record<string, unknown> = { ...options.claim };
  for (const name of Object.keys(claims)) {
    if (Object.hasOwn(controlled, name)) {
      throw new AuthTokenCommandError(
        `--claim cannot set "${name}": the command sets it from ${controlled[name]}`,
      );
    }
  }

  const overridden: string[] = [];
  const flags: [flag: string, name: string, value: unknown][] = [
    ['--tenant', jwt.tenantClaim, options.tenant],
    ['--email', 'email', options.email || undefined],
    ['--email-verified', 'email_verified', options.emailVerified || undefined],
    ['--name', 'name', options.name || undefined],
  ];
  for (const [flag, name, value] of flags) {
    if (value === undefined) continue;
    if (Object.hasOwn(claims, name))
      overridden.push(`${flag} sets "${name}"; --claim ${name} ignored`);
    claims[name] = value;
  }
  return { claims, overridden };
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
): Promise<DevelopmentToken> {
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
  const { claims, overridden } = developmentClaims(jwt, options);

  const algorithm = jwt.algorithm.startsWith('HS') ? jwt.algorithm : 'HS256';
  const issuedAt = Math.floor(now.getTime() / 1000);
  let builder = new SignJWT(claims)
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttl);
  if (jwt.issuer) builder = builder.setIssuer(jwt.issuer);
  if (jwt.audience) builder = builder.setAudience(jwt.audience);
  const token = await builder.sign(createSecretKey(Buffer.from(jwt.secret, 'utf8')));
  return { token, overridden };
}

/** `boards auth token …`: prints only the token on stdout (notes go to stderr). */
export function registerAuthCommands(program: Command, loadConfig: () => BoardsConfig): void {
  const auth = program.command('auth').description('authentication helpers');
  auth
    .command('token')
    .description('print a development token signed with BOARDS_JWT_SECRET (never in production)')
    .requiredOption('--sub <subject>', 'subject (sub claim)')
    .option(
      '--tenant <slug>',
      'tenant slug under BOARDS_JWT_TENANT_CLAIM; omit for a token naming no tenant (to register one)',
    )
    .option('--email <email>', 'email claim')
    .option('--email-verified', 'add email_verified: true (invitations and tenant domains need it)')
    .option('--name <name>', 'name claim')
    .addOption(
      new Option('--ttl <duration>', 'lifetime: 90s, 30m, 1h, 7d (at most 365d)')
        .argParser(parseTtl)
        .default(DEFAULT_TTL_SECONDS, '1h'),
    )
    .option(
      '--claim <key=value>',
      'extra claim, repeatable, JSON values parsed; the flags above win over it; sub, iat, exp (iss, aud when configured) are refused',
      collectClaim,
    )
    .action(async (options: DevelopmentTokenOptions) => {
      const config = loadConfig();
      const { token, overridden } = await signDevelopmentToken(config, options);
      for (const note of overridden) process.stderr.write(`note: ${note}\n`);
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
