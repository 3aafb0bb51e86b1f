import { applyDecorators } from '@nestjs/common';

/**
 * applyDecorators for a stack written top to bottom, applied bottom first as TypeScript applies
 * the decorators above a member: class-validator then reports failures in the same order.
 */
export function decoratorStack(...decorators: PropertyDecorator[]): PropertyDecorator {
  return applyDecorators(...[...decorators].reverse());
}
