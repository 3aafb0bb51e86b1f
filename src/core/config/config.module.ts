import { Global, Module, type DynamicModule } from '@nestjs/common';
import { BoardsConfig } from './boards-config';

/** Provides the one parsed BoardsConfig to every module. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: BoardsConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: BoardsConfig, useValue: config }],
      exports: [BoardsConfig],
    };
  }
}
