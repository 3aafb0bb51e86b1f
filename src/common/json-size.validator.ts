import { registerDecorator, type ValidationOptions } from 'class-validator';

/** The value serialized as JSON is at most `maxBytes` bytes (UTF-8). */
export function MaxJsonBytes(maxBytes: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'maxJsonBytes',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: `$property must be at most ${maxBytes} bytes as JSON`, ...options },
      validator: {
        validate: (value: unknown) =>
          value === undefined || Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8') <= maxBytes,
      },
    });
  };
}
