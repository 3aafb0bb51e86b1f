// class-transformer keeps its decorators' metadata in `defaultMetadataStorage`, which its package
// ships as cjs/storage.js with the types beside it in types/storage.d.ts (body-check.ts reads it).
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}
