import { ValidationPipe, type Type } from '@nestjs/common';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { TransformationType } from 'class-transformer';
import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';

/**
 * An accept-only check of a request body against its DTO class (issue 20): for a body the
 * global ValidationPipe would accept, the DTO the pipe would hand the handler; for anything else
 * (a body it refuses, or one the check cannot be sure about) undefined, and the pipe runs as
 * before, so every refusal and its error body stay the pipe's own.
 *
 * The pipe copies the body into the class with class-transformer, then validates the copy with
 * class-validator, walking the metadata of every decorated class on each call (about 50 µs of a
 * create's server CPU). The check reads the same rules once, and per body:
 * - takes only a plain object whose keys are all decorated properties (an unknown key is the
 *   pipe's to refuse), whose nested objects and arrays hold JSON values only, and none of whose
 *   nested keys the pipe or class-transformer would drop (`__proto__`, `prototype`, `constructor`
 *   and the other names of Object.prototype);
 * - builds the DTO as class-transformer does for such a body: `new DtoClass()`, then each key's
 *   value, nested objects and arrays copied;
 * - runs the class's own rules on it as class-validator does: a property whose conditions
 *   (@IsOptional, @ValidateIf) do not hold is skipped, every other rule's validator must answer
 *   true, synchronously.
 * A class is checked only when all its rules are of those kinds (custom validators, conditions,
 * @IsDefined, @Allow), for no groups, no `each` and no per-rule `validateIf`, with synchronous
 * validators, with no class-transformer metadata (@Type, @Transform, @Expose, @Exclude), no
 * parent class, no accessors or methods, and fields that start undefined. Anything else gets no
 * check.
 */
export type BodyCheck = (body: unknown) => object | undefined;

/** The ValidationPipe options under which the check answers as the pipe does. */
const KNOWN_VALIDATOR_OPTIONS = new Set([
  'whitelist',
  'forbidNonWhitelisted',
  'stopAtFirstError',
  'validationError',
  'dismissDefaultMessages',
  'enableDebugMessages',
  // Only decides for a class without rules, which gets no check.
  'forbidUnknownValues',
]);

/** Whether `pipe` is a ValidationPipe whose acceptance the check reproduces. */
export function checkableValidationPipe(pipe: unknown): pipe is ValidationPipe {
  // Nest's own class only: a subclass may override transform() with checks of its own. (The
  // check reads class-validator and class-transformer themselves, the packages the pipe loads
  // unless it is given others: the app gives none.)
  if (
    typeof pipe !== 'object' ||
    pipe === null ||
    Object.getPrototypeOf(pipe) !== ValidationPipe.prototype
  ) {
    return false;
  }
  const options = pipe as unknown as {
    isTransformEnabled: boolean;
    transformOptions?: object;
    expectedType?: unknown;
    validatorOptions: Record<string, unknown>;
  };
  return (
    options.isTransformEnabled === true &&
    (options.transformOptions === undefined ||
      Object.keys(options.transformOptions).length === 0) &&
    options.expectedType === undefined &&
    Object.keys(options.validatorOptions).every((key) => KNOWN_VALIDATOR_OPTIONS.has(key))
  );
}

interface Rule {
  readonly property: string;
  /** @IsOptional and @ValidateIf: the property is validated only when all of them hold. */
  readonly conditions: readonly ((object: object, value: unknown) => boolean)[];
  /** Validators and their arguments' constraints: each must answer true. */
  readonly validators: readonly {
    readonly validate: (value: unknown, args: ValidationArguments) => unknown;
    readonly constraints: unknown[];
  }[];
}

/** The check for `dtoClass`, or undefined when it has rules the check does not reproduce. */
export function compileBodyCheck(dtoClass: Type<unknown>): BodyCheck | undefined {
  const rules = rulesOf(dtoClass);
  if (!rules) return undefined;
  const byProperty = new Map(rules.map((rule) => [rule.property, rule]));
  const targetName = dtoClass.name;
  return (body) => {
    if (!isPlainObject(body)) return undefined;
    const keys = Object.keys(body);
    for (const key of keys) if (!byProperty.has(key)) return undefined;
    const dto = new dtoClass() as Record<string, unknown>;
    for (const key of keys) {
      const copy = jsonCopy(body[key]);
      if (copy === UNSURE) return undefined;
      dto[key] = copy;
    }
    for (const rule of rules) {
      const value = dto[rule.property];
      let applies = true;
      for (const condition of rule.conditions) applies = condition(dto, value) && applies;
      if (!applies) continue;
      for (const { validate, constraints } of rule.validators) {
        const valid = validate(value, {
          targetName,
          property: rule.property,
          object: dto,
          value,
          constraints,
        });
        if (valid !== true) return undefined;
      }
    }
    return dto;
  };
}

function rulesOf(dtoClass: Type<unknown>): Rule[] | undefined {
  if (dtoClass.length !== 0) return undefined;
  const prototype = dtoClass.prototype as object;
  if (Object.getPrototypeOf(prototype) !== Object.prototype) return undefined;
  if (Reflect.ownKeys(prototype).some((key) => key !== 'constructor')) return undefined;
  if (
    defaultMetadataStorage.getStrategy(dtoClass) !== 'none' ||
    defaultMetadataStorage.getExposedMetadatas(dtoClass).length > 0 ||
    defaultMetadataStorage.getExcludedMetadatas(dtoClass).length > 0
  ) {
    return undefined;
  }
  const storage = getMetadataStorage();
  // As ValidationExecutor asks for them under the pipe's options (no groups, not `always`).
  const metadatas = storage.getTargetValidationMetadatas(dtoClass, '', false, false, undefined);
  if (metadatas.length === 0) return undefined;
  const rules = new Map<
    string,
    { conditions: Rule['conditions'][number][]; validators: Rule['validators'][number][] }
  >();
  for (const metadata of metadatas) {
    if (metadata.target !== dtoClass) return undefined;
    if (
      metadata.each ||
      (metadata.groups?.length ?? 0) > 0 ||
      metadata.always !== undefined ||
      (metadata as { validateIf?: unknown }).validateIf !== undefined
    ) {
      return undefined;
    }
    const property = metadata.propertyName;
    // class-transformer skips a key whose name the instance inherits as a method.
    if (property in Object.prototype) return undefined;
    if (
      defaultMetadataStorage.findTypeMetadata(dtoClass, property) !== undefined ||
      defaultMetadataStorage.findTransformMetadatas(
        dtoClass,
        property,
        TransformationType.PLAIN_TO_CLASS,
      ).length > 0
    ) {
      return undefined;
    }
    let rule = rules.get(property);
    if (!rule) rules.set(property, (rule = { conditions: [], validators: [] }));
    switch (metadata.type) {
      case ValidationTypes.WHITELIST:
        break;
      case ValidationTypes.CONDITIONAL_VALIDATION:
        rule.conditions.push(metadata.constraints[0] as Rule['conditions'][number]);
        break;
      case ValidationTypes.IS_DEFINED:
      case ValidationTypes.CUSTOM_VALIDATION: {
        const constraints = storage.getTargetValidatorConstraints(metadata.constraintCls);
        if (constraints.length === 0) return undefined;
        for (const constraint of constraints) {
          if (constraint.async) return undefined;
          rule.validators.push({
            // The instance is looked up on each call, as class-validator does (its container).
            validate: (value, args) =>
              (
                constraint.instance as { validate: Rule['validators'][number]['validate'] }
              ).validate(value, args),
            constraints: metadata.constraints,
          });
        }
        break;
      }
      default:
        return undefined;
    }
  }
  // Fields with an initial value (or none declared) would make the copy differ: all start undefined.
  const probe = new dtoClass() as Record<string, unknown>;
  for (const key of Object.keys(probe)) {
    if (!rules.has(key) || probe[key] !== undefined) return undefined;
  }
  return [...rules].map(([property, rule]) => ({ property, ...rule }));
}

const UNSURE = Symbol('unsure');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype;
}

/**
 * A copy of a JSON value as class-transformer makes it (nested objects and arrays copied), or
 * UNSURE for anything else, and for an object with a key the pipe strips (`prototype`) or
 * class-transformer skips (the names of Object.prototype, `__proto__` among them). Recursive:
 * bodies come from the JSON body parser, which refuses nesting deeper than MAX_JSON_DEPTH.
 */
function jsonCopy(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : UNSURE;
  if (typeof value !== 'object') return UNSURE;
  if (value === null) return null;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return UNSURE;
      const item = jsonCopy(value[i]);
      if (item === UNSURE) return UNSURE;
      copy.push(item);
    }
    return copy;
  }
  if (!isPlainObject(value)) return UNSURE;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key in Object.prototype || key === 'prototype') return UNSURE;
    const item = jsonCopy(value[key]);
    if (item === UNSURE) return UNSURE;
    copy[key] = item;
  }
  return copy;
}
