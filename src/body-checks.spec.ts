import { ValidationPipe, type ArgumentMetadata, type Type } from '@nestjs/common';
import { Type as TransformType } from 'class-transformer';
import {
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  Validate,
  ValidateNested,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { AddMemberDto } from 'src/modules/boards/dto/add-member.dto';
import { CreateBoardDto } from 'src/modules/boards/dto/create-board.dto';
import { CreateGenerationDto } from 'src/modules/boards/dto/create-generation.dto';
import { TransferOwnershipDto } from 'src/modules/boards/dto/transfer-ownership.dto';
import { UpdateBoardDto } from 'src/modules/boards/dto/update-board.dto';
import { UpdateMemberDto } from 'src/modules/boards/dto/update-member.dto';
import { CreateInvitationDto } from 'src/modules/tenants/dto/create-invitation.dto';
import { CreateTenantDto } from 'src/modules/tenants/dto/create-tenant.dto';
import { RegisterTenantDto } from 'src/modules/tenants/dto/register-tenant.dto';
import { AddTenantDomainDto } from 'src/modules/tenants/dto/tenant-domain.dto';
import { UpdateTenantMemberDto } from 'src/modules/tenants/dto/update-tenant-member.dto';
import { UpdateTenantDto } from 'src/modules/tenants/dto/update-tenant.dto';
import { checkableValidationPipe, compileBodyCheck } from 'src/core/http/body-check';
import { VALIDATION_PIPE_OPTIONS } from 'src/core/http/validation-pipe-options';

/**
 * The body check against the global ValidationPipe itself (the app's options), body by body:
 * whatever the check accepts, the pipe accepts too, and hands the handler an equal DTO (same
 * class, same keys in the same order, same values); everything else is left to the pipe. Bodies
 * are generated from every body DTO of the API, valid and not, with the values that sit on the
 * rules' edges (lengths counted in code points, blank names, JSON near its size limit, nested
 * keys class-transformer drops, unknown keys).
 */

const pipe = new ValidationPipe(VALIDATION_PIPE_OPTIONS);
const BODY_DTOS: Type<unknown>[] = [
  CreateBoardDto,
  UpdateBoardDto,
  AddMemberDto,
  UpdateMemberDto,
  TransferOwnershipDto,
  CreateGenerationDto,
  CreateInvitationDto,
  CreateTenantDto,
  RegisterTenantDto,
  AddTenantDomainDto,
  UpdateTenantDto,
  UpdateTenantMemberDto,
];

/** What the pipe answers for the body in `text`: the DTO, or its refusal. */
async function viaPipe(
  dtoClass: Type<unknown>,
  text: string,
): Promise<{ dto?: object; refused?: unknown }> {
  const metadata: ArgumentMetadata = { type: 'body', metatype: dtoClass, data: undefined };
  try {
    return { dto: (await pipe.transform(JSON.parse(text), metadata)) as object };
  } catch (err) {
    return { refused: err };
  }
}

const emoji = (count: number) => '😀'.repeat(count);
const LARGE = { blob: 'x'.repeat(70_000) };
const NEAR_LIMIT = { blob: 'x'.repeat(65_536 - 11) };
const VALUES: unknown[] = [
  'Board',
  'Moodboard for spring',
  '',
  '   ',
  'x'.repeat(255),
  'x'.repeat(256),
  emoji(200),
  emoji(256),
  'x'.repeat(10_000),
  'x'.repeat(10_001),
  'ann@acme.test',
  'not an e-mail',
  'acme-corp',
  'Acme Corp',
  'admin',
  'member',
  'editor',
  'viewer',
  'owner',
  '10000000-0000-4000-8000-000000000001',
  'https://id.acme.test',
  'acme.test',
  'flux-pro',
  'image',
  'small',
  0,
  1,
  -1,
  1.5,
  100,
  1e9,
  true,
  false,
  null,
  [],
  ['a'],
  [1, 2],
  ['https://id.acme.test'],
  {},
  { a: 1 },
  { nested: { deep: [1, { x: null }], flag: true } },
  { toString: 1 },
  { prototype: { a: 1 } },
  { constructor: {} },
  { list: [{ valueOf: 1 }] },
  LARGE,
  NEAR_LIMIT,
  { boards: 10, members_per_board: 5 },
];

/** A small deterministic generator (the same bodies on every run). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/** How many messages the pipe's refusal of `body` has (0: accepted). */
async function refusals(dtoClass: Type<unknown>, body: Record<string, unknown>): Promise<number> {
  const { refused } = await viaPipe(dtoClass, JSON.stringify(body));
  if (!refused) return 0;
  const message = (refused as { getResponse?: () => { message?: unknown } }).getResponse?.()
    .message;
  return Array.isArray(message) ? message.length : 1;
}

/**
 * A body the pipe accepts, found value by value (each property gets the value of VALUES, or
 * none, that leaves the fewest refusals), or the closest one found.
 */
async function acceptedBody(
  dtoClass: Type<unknown>,
  properties: readonly string[],
): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  for (let pass = 0; pass < 2; pass++) {
    for (const property of properties) {
      let best = await refusals(dtoClass, body);
      let bestValue = body[property];
      for (const value of [undefined, ...VALUES]) {
        const tried = await refusals(dtoClass, { ...body, [property]: value });
        if (tried < best) [best, bestValue] = [tried, value];
      }
      body[property] = bestValue;
      if (bestValue === undefined) delete body[property];
    }
  }
  return body;
}

/** Bodies around `seed`: one or two properties changed, left out or added, now and then an unknown key. */
function bodiesAround(
  seed: Record<string, unknown>,
  properties: readonly string[],
  count: number,
  state: number,
): string[] {
  const next = random(state);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const bodies: string[] = ['{}', '[]', 'null', '"text"', '{"unknown":1}', JSON.stringify(seed)];
  for (let i = 0; i < count; i++) {
    const body: Record<string, unknown> = { ...seed };
    for (let changes = 1 + Math.floor(next() * 2); changes > 0; changes--) {
      const property = pick(properties);
      if (next() < 0.2) delete body[property];
      else body[property] = pick(VALUES);
    }
    if (next() < 0.05) body.unknown_key = pick(VALUES);
    bodies.push(JSON.stringify(body));
  }
  // A key `__proto__` in the JSON text (JSON.parse makes it an own property).
  const last = JSON.stringify(seed);
  bodies.push(`{"__proto__":{"admin":true}${last === '{}' ? '' : `,${last.slice(1, -1)}`}}`);
  return bodies;
}

function propertiesOf(dtoClass: Type<unknown>): string[] {
  // The DTO's own decorated properties, as the OpenAPI generator and the check see them.
  const { getMetadataStorage } =
    jest.requireActual<typeof import('class-validator')>('class-validator');
  return [
    ...new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(dtoClass, '', false, false, undefined)
        .map((metadata) => metadata.propertyName),
    ),
  ];
}

describe('compileBodyCheck against the global ValidationPipe', () => {
  it("is used with the app's pipe, and not with a pipe whose options it does not reproduce", () => {
    expect(checkableValidationPipe(pipe)).toBe(true);
    expect(
      checkableValidationPipe(new ValidationPipe({ ...VALIDATION_PIPE_OPTIONS, transform: false })),
    ).toBe(false);
    expect(
      checkableValidationPipe(new ValidationPipe({ ...VALIDATION_PIPE_OPTIONS, groups: ['x'] })),
    ).toBe(false);
    expect(
      checkableValidationPipe(
        new ValidationPipe({ ...VALIDATION_PIPE_OPTIONS, skipMissingProperties: true }),
      ),
    ).toBe(false);
    expect(
      checkableValidationPipe(
        new ValidationPipe({
          ...VALIDATION_PIPE_OPTIONS,
          transformOptions: { enableImplicitConversion: true },
        }),
      ),
    ).toBe(false);
    expect(checkableValidationPipe({ transform: (value: unknown) => value })).toBe(false);
    // A subclass may check more in its own transform().
    class StricterPipe extends ValidationPipe {}
    expect(checkableValidationPipe(new StricterPipe(VALIDATION_PIPE_OPTIONS))).toBe(false);
  });

  it.each(BODY_DTOS.map((dtoClass) => [dtoClass.name, dtoClass] as const))(
    '%s: every body the check accepts, the pipe accepts, with an equal DTO',
    async (_name, dtoClass) => {
      const check = compileBodyCheck(dtoClass);
      const properties = propertiesOf(dtoClass);
      const seed = await acceptedBody(dtoClass, properties);
      const bodies = bodiesAround(seed, properties, 500, dtoClass.name.length * 7_919);
      let accepted = 0;
      let checked = 0;
      for (const text of bodies) {
        const fast = check?.(JSON.parse(text));
        const slow = await viaPipe(dtoClass, text);
        if (slow.dto) accepted++;
        if (fast === undefined) continue;
        checked++;
        expect({ text, refused: slow.refused }).toEqual({ text, refused: undefined });
        expect(Object.getPrototypeOf(fast)).toBe(dtoClass.prototype);
        expect(fast).toEqual(slow.dto);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow.dto));
      }
      // Bodies both accept exist for every DTO the check compiles for.
      if (check) expect(checked).toBeGreaterThan(0);
      expect(accepted).toBeGreaterThanOrEqual(checked);
    },
  );

  it('answers for the create body the pipe accepts: a DTO of its own, nested values copied', async () => {
    const check = compileBodyCheck(CreateBoardDto);
    expect(check).toBeDefined();
    const valid = [
      { title: 'Board' },
      { title: emoji(255), description: null, is_public: true },
      {
        title: ' x ',
        description: 'x'.repeat(10_000),
        settings: {},
        metadata: { a: [1, { b: null }] },
      },
      { title: 'Board', settings: NEAR_LIMIT },
    ];
    for (const body of valid) {
      const text = JSON.stringify(body);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const dto = check?.(parsed) as Record<string, unknown> | undefined;
      expect(dto).toBeInstanceOf(CreateBoardDto);
      expect(dto).toEqual((await viaPipe(CreateBoardDto, text)).dto);
      if (parsed.metadata) expect(dto?.metadata).not.toBe(parsed.metadata);
    }
    // Refused by the pipe, so left to it: the check answers nothing.
    for (const body of [
      { title: '' },
      { title: '  ' },
      { title: emoji(256) },
      { title: 'Board', settings: LARGE },
      { title: 'Board', is_public: 'true' },
      { title: 'Board', extra: 1 },
      { title: 'Board', settings: [] },
      { description: 'no title' },
    ]) {
      expect(check?.(JSON.parse(JSON.stringify(body)))).toBeUndefined();
      expect((await viaPipe(CreateBoardDto, JSON.stringify(body))).refused).toBeDefined();
    }
    // Accepted by the pipe, which drops a nested key class-transformer skips: left to the pipe.
    const dropped = JSON.stringify({ title: 'Board', settings: { toString: 1, kept: 2 } });
    expect(check?.(JSON.parse(dropped))).toBeUndefined();
    expect((await viaPipe(CreateBoardDto, dropped)).dto).toEqual(
      Object.assign(new CreateBoardDto(), { title: 'Board', settings: { kept: 2 } }),
    );
  });

  it('compiles no check for rules it does not reproduce', () => {
    @ValidatorConstraint({ async: true })
    class Eventually implements ValidatorConstraintInterface {
      validate(): Promise<boolean> {
        return Promise.resolve(true);
      }
    }
    class Inner {
      @IsString()
      name!: string;
    }
    class WithNested {
      @ValidateNested()
      @TransformType(() => Inner)
      inner!: Inner;
    }
    class WithGroups {
      @IsString({ groups: ['admin'] })
      name!: string;
    }
    class WithEach {
      @IsString({ each: true })
      names!: string[];
    }
    class WithAsync {
      @Validate(Eventually)
      name!: string;
    }
    class WithDefault {
      @IsOptional()
      @MaxLength(3)
      name = 'abc';
    }
    class Parent {
      @IsString()
      name!: string;
    }
    class Child extends Parent {
      @IsObject()
      settings!: object;
    }
    class WithMethod {
      @IsString()
      name!: string;

      shout(): string {
        return this.name.toUpperCase();
      }
    }
    class WithRuleCondition {
      @IsString({ validateIf: (object: { strict?: boolean }) => object.strict === true })
      name!: string;
    }
    class Plain {
      @IsString()
      name!: string;
    }
    for (const dtoClass of [
      WithNested,
      WithGroups,
      WithEach,
      WithAsync,
      WithDefault,
      Child,
      WithMethod,
      WithRuleCondition,
    ]) {
      expect([dtoClass.name, compileBodyCheck(dtoClass)]).toEqual([dtoClass.name, undefined]);
    }
    expect(compileBodyCheck(Plain)?.({ name: 'x' })).toEqual(
      Object.assign(new Plain(), { name: 'x' }),
    );
  });
});
