import type { FactoryProvider } from '@nestjs/common';
import { BoardsConfig } from 'src/core/config/boards-config';
import { AUTH_STRATEGIES, AuthStrategyRegistry, type AuthStrategy } from './auth-strategies';
import { JwtStrategy } from './jwt.strategy';
import { OidcStrategy } from './oidc.strategy';

/** The passport strategies of BOARDS_AUTH_PROVIDER, in its order (`none` has none). */
export const authStrategiesProvider: FactoryProvider<AuthStrategy[]> = {
  provide: AUTH_STRATEGIES,
  inject: [BoardsConfig, AuthStrategyRegistry],
  useFactory: ({ auth }: BoardsConfig, registry: AuthStrategyRegistry) =>
    auth.providers.flatMap((provider): AuthStrategy[] => {
      switch (provider) {
        case 'none':
          return [];
        case 'jwt':
          return [new JwtStrategy(auth, registry)];
        case 'oidc':
          return [new OidcStrategy(auth, registry)];
      }
    }),
};
