/**
 * Every touch of a library's internals (fields and files its authors do not document: private
 * fields of pg, TypeORM, Nest, nestjs-cls and Node, deep imports into `dist/`) lives in this file,
 * behind small named functions. Nothing else reaches past a library's public surface, with one
 * exception: Node's module loader (`Module._load`), which src/core/runtime/deferred-requires.ts
 * takes over while TypeORM loads, so before anything could import this file (which imports
 * TypeORM). The requires it defers (deferred-libraries.ts) are file names and require strings
 * inside TypeORM and class-validator: deferred-requires.spec.ts holds them to the installed
 * versions on Node's real loader.
 *
 * Verified against: pg 8.23.1 (pg-pool 3.14.0), typeorm 1.1.1, @nestjs/core 11.2.10,
 * @nestjs/common 11.2.10, @nestjs/throttler 6.7.1, nestjs-cls 6.3.1, @electric-sql/pglite 0.5.16,
 * Node 20.20.2. driver-internals.spec.ts fails when an installed version differs from
 * VERIFIED_AGAINST, and it and test/integration/driver-internals.int-spec.ts check the shape of
 * each field used here: after an upgrade, re-read the library code behind each function below,
 * run both, then update the versions.
 */
import type { Socket } from 'node:net';
import type {
  CanActivate,
  ExceptionFilter,
  ExecutionContext,
  INestApplicationContext,
  NestInterceptor,
  PipeTransform,
  Type,
} from '@nestjs/common';
import {
  CUSTOM_ROUTE_ARGS_METADATA as CUSTOM_ROUTE_ARGS_METADATA_VALUE,
  ROUTE_ARGS_METADATA as ROUTE_ARGS_METADATA_VALUE,
} from '@nestjs/common/constants';
import { ApplicationConfig } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { ThrottlerStorage } from '@nestjs/throttler';
import {
  Query,
  type Client,
  type Pool,
  type PoolClient,
  type QueryConfig,
  type QueryResult,
} from 'pg';
import { QueryFailedError, type DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { isEmbeddedPool } from './embedded-database';
import { namedStatement, unsureOfPrepared } from './prepared-statements';

/** The versions each function below was read against (see the header). */
export const VERIFIED_AGAINST = {
  pg: '8.23.1',
  'pg-pool': '3.14.0',
  typeorm: '1.1.1',
  '@nestjs/core': '11.2.10',
  '@nestjs/common': '11.2.10',
  '@nestjs/throttler': '6.7.1',
  'nestjs-cls': '6.3.1',
  '@electric-sql/pglite': '0.5.16',
  /** Node is not pinned (Dockerfile `node:20-…`): the spec holds it to this major line. */
  node: '20.20.2',
} as const;

// ---------------------------------------------------------------------------------------------
// TypeORM (PostgresDriver, PostgresQueryRunner) and pg (Pool, Client)
// ---------------------------------------------------------------------------------------------

/**
 * The pg Pool a TypeORM PostgreSQL data source checks connections out of (the driver's `master`
 * field); undefined on the embedded database (whose stand-in pool carries EMBEDDED_POOL) or
 * before the data source is initialized.
 */
export function runtimePgPool(dataSource: DataSource): Pool | undefined {
  const master = (dataSource.driver as { master?: unknown }).master;
  const pool = master as Partial<Pool> | undefined;
  return typeof pool?.connect === 'function' &&
    typeof pool.totalCount === 'number' &&
    typeof pool.idleCount === 'number' &&
    typeof pool.waitingCount === 'number' &&
    !isEmbeddedPool(pool)
    ? (pool as Pool)
    : undefined;
}

/**
 * Tells TypeORM that the runner's transaction is open (as startTransaction() would, without its
 * round trip), so that save() and friends join it instead of opening and committing one of their
 * own, and commitTransaction()/rollbackTransaction() end it.
 */
export function markTransactionOpen(runner: QueryRunner): void {
  const state = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
  state.isTransactionActive = true;
  state.transactionDepth = 1;
}

/**
 * Releases the runner's connection with an error (PostgresQueryRunner's private
 * releasePostgresConnection), which makes the pool destroy it instead of lending it again.
 */
export async function discardConnection(runner: QueryRunner, err: Error): Promise<void> {
  const release = (runner as unknown as { releasePostgresConnection?: unknown })
    .releasePostgresConnection;
  if (typeof release !== 'function') {
    throw new Error('QueryRunner has no releasePostgresConnection: re-verify driver-internals.ts');
  }
  await (release as (this: QueryRunner, err: Error) => Promise<void>).call(runner, err);
}

/**
 * Ends a pg client's socket (its `connection.stream`): queries in flight and later ones fail, and
 * the pool drops the client when it is released.
 */
export function destroyConnectionSocket(client: Client): void {
  client.connection?.stream?.destroy();
}

/** The parts of a node-postgres client that pipelined() switches: its mode and its socket. */
type PipelineClient = PoolClient & {
  pipeline: boolean;
  connection: { stream: { cork(): void; uncork(): void } };
};

/** What a pipelined statement settles to. */
type QueryCallback = (err: Error | null, result: QueryResult) => void;

/** The fields of node-postgres' Query (lib/query.js) and Result (lib/result.js) used below. */
interface QueryInternals {
  name?: string;
  types?: unknown;
  portal: string;
  values?: unknown[];
  binary?: boolean;
  rows?: number;
  callback?: QueryCallback;
  query_timeout?: number;
  _accumulateRows: boolean;
  _result: {
    fields: unknown[];
    _parsers: unknown[] | undefined;
    _prebuiltEmptyResultObject: Record<string, null> | null;
    _types?: unknown;
  };
  hasBeenParsed(connection: PgConnection): boolean;
  handleError(err: Error, connection: PgConnection): void;
  _getRows(connection: PgConnection, rows: number | undefined): void;
}

/** The parts of node-postgres' Connection (lib/connection.js) a query writes with. */
interface PgConnection {
  bind(config: {
    portal: string;
    statement?: string;
    values?: unknown[];
    binary?: boolean;
    valueMapper: (value: unknown) => unknown;
  }): void;
  close(config: { type: 'S'; name?: string }): void;
  sync(): void;
}

/** A statement's result description (fields, their parsers, the empty row), per connection. */
interface RowShape {
  /** The type parsers the statement's values were parsed with (the query's `types`). */
  readonly types: unknown;
  readonly fields: unknown[];
  readonly parsers: unknown[];
  readonly empty: Record<string, null>;
}

const rowShapes = new WeakMap<PgConnection, Map<string, RowShape>>();

// node-postgres' own value serializer for Bind (lib/utils.js), as Query.prepare uses it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue(value: unknown): unknown };

/**
 * node-postgres' Query, except that a named statement already prepared on the connection is not
 * described again: pg sends Bind, Describe, Execute and Sync on every run, and parses the
 * RowDescription answer into fresh fields and value parsers each time. The description of a
 * named statement cannot change while the statement lives on its connection (PostgreSQL refuses
 * to run it instead: "cached plan must not change result type", which ends the connection, see
 * hasUnusableStatement), so the first run's description is kept with the connection and reused.
 * A statement pg will parse again (first use, or after an error) is described again.
 */
class DescribedOnceQuery extends Query {
  private preparedOn: PgConnection | undefined;

  prepare(connection: PgConnection): void {
    const self = this as unknown as QueryInternals;
    const shape =
      self.name !== undefined && self.hasBeenParsed(connection)
        ? describedShape(connection, self.name, self.types)
        : undefined;
    if (!shape) {
      this.preparedOn = connection;
      (Query.prototype as unknown as { prepare(c: PgConnection): void }).prepare.call(
        this,
        connection,
      );
      return;
    }
    bindDescribed(self, connection, self.name!, shape);
  }

  handleRowDescription(message: unknown): void {
    (
      Query.prototype as unknown as { handleRowDescription(m: unknown): void }
    ).handleRowDescription.call(this, message);
    const self = this as unknown as QueryInternals;
    if (self.name !== undefined && this.preparedOn) {
      rememberShape(this.preparedOn, self.name, self);
    }
  }
}

/** The description kept for the prepared statement `name` on `connection`, if `types` match. */
function describedShape(
  connection: PgConnection,
  name: string,
  types: unknown,
): RowShape | undefined {
  const shape = rowShapes.get(connection)?.get(name);
  return shape && shape.types === types ? shape : undefined;
}

/** Keeps the description `query` was just answered with for its prepared statement `name`. */
function rememberShape(connection: PgConnection, name: string, query: QueryInternals): void {
  let shapes = rowShapes.get(connection);
  if (!shapes) rowShapes.set(connection, (shapes = new Map()));
  const result = query._result;
  shapes.set(name, {
    types: query.types,
    fields: result.fields,
    parsers: result._parsers ?? [],
    empty: result._prebuiltEmptyResultObject ?? {},
  });
}

/**
 * Query.prepare for the prepared statement `name` whose description is known: without Parse
 * (done) and Describe (known), so Bind, then Execute and Sync, the result set up as
 * handleRowDescription would have set it from the answer. A value the driver cannot send ends
 * as in Query.prepare (the statement closed, the query failed).
 */
function bindDescribed(
  query: QueryInternals,
  connection: PgConnection,
  name: string,
  shape: RowShape,
): void {
  try {
    connection.bind({
      portal: query.portal,
      statement: name,
      values: query.values,
      binary: query.binary,
      valueMapper: prepareValue,
    });
  } catch (err) {
    connection.close({ type: 'S', name });
    connection.sync();
    query.handleError(err as Error, connection);
    return;
  }
  const result = query._result;
  result.fields = shape.fields;
  result._parsers = shape.parsers;
  result._prebuiltEmptyResultObject = shape.empty;
  query._accumulateRows = true;
  query._getRows(connection, query.rows);
}

/**
 * A DescribedOnceQuery for `query`. Made from the text and values, with the other settings set
 * after: node-postgres copies a config object's property descriptors one by one (cloneQueryConfig),
 * which costs more than the rest of building the query.
 */
function describedOnceQuery(query: string | QueryConfig): DescribedOnceQuery {
  if (typeof query === 'string') return new DescribedOnceQuery(query);
  const { text, values, name, types, ...rest } = query as QueryConfig & {
    types?: unknown;
    queryMode?: string;
  };
  const made = new DescribedOnceQuery(text, values);
  const self = made as unknown as QueryInternals & { queryMode?: string };
  if (name !== undefined) self.name = name;
  if (types !== undefined) {
    self.types = types;
    self._result._types = types;
  }
  if (rest.queryMode !== undefined) self.queryMode = rest.queryMode;
  const unsupported = Object.keys(rest).filter((key) => key !== 'queryMode');
  if (unsupported.length > 0)
    throw new Error(`pipelined(): unsupported query settings ${unsupported.join(', ')}`);
  return made;
}

/**
 * Sends `queries` on `client` without waiting for each answer and settles once every one is
 * answered; the server runs them in order. This uses node-postgres' pipeline mode, switched on
 * for this checked-out connection only while its queries are out, and corks the socket so they
 * leave in one write. A named statement is described only on its first run on the connection
 * (DescribedOnceQuery). One promise for the whole pipeline: each query reports to a callback.
 */
export function pipelined(
  client: PoolClient,
  queries: readonly (string | QueryConfig)[],
): Promise<PromiseSettledResult<QueryResult>[]> {
  const target = client as PipelineClient;
  const stream = target.connection.stream;
  return new Promise((resolve, reject) => {
    const settled = new Array<PromiseSettledResult<QueryResult>>(queries.length);
    let pending = queries.length;
    // node-postgres may call a query's callback more than once (after a failed Bind, again on
    // ReadyForQuery); the first answer counts, as with its promise.
    const answer =
      (index: number): QueryCallback =>
      (err, result) => {
        if (settled[index] !== undefined) return;
        settled[index] = err
          ? { status: 'rejected', reason: err }
          : { status: 'fulfilled', value: result };
        if (--pending === 0) {
          target.pipeline = false;
          resolve(settled);
        }
      };
    target.pipeline = true;
    stream.cork();
    try {
      for (let index = 0; index < queries.length; index++) {
        const query = queries[index];
        const submittable = describedOnceQuery(query);
        (client.query as (query: unknown, callback: QueryCallback) => void)(
          submittable,
          answer(index),
        );
      }
    } catch (err) {
      target.pipeline = false;
      reject(err as Error);
    } finally {
      stream.uncork();
    }
  });
}

/**
 * node-postgres' Query for the first statement of a transaction when it has parameters (the
 * extended protocol), sent in the same round trip as the statements that open it (`open`: START
 * TRANSACTION and its SET LOCALs): each `open` statement goes as its own Parse, Bind and Execute,
 * and one Sync follows the statement. After an error PostgreSQL skips every message until that
 * Sync, so the statement never runs unless every `open` statement succeeded; and since START
 * TRANSACTION runs first, a statement that fails leaves the transaction open and failed (never
 * autocommit). The answers to `open` (one CommandComplete each) are not part of the result.
 * A named statement already parsed and described on the connection is not described again (as
 * DescribedOnceQuery): Bind, Execute and Sync after the open.
 * With `commit`, a COMMIT goes after the statement, before the Sync (a transaction's last
 * statement, FinalStatement): it runs only if the open and the statement succeeded, and the query
 * succeeds only if the COMMIT did too (its answer is not part of the result). `open` may then be
 * empty (a transaction opened earlier).
 */
class OpenedQuery extends Query {
  /** CommandComplete messages of `open` still to come. */
  private openAnswers: number;
  /** Whether the statement's own CommandComplete came (a later one is the COMMIT's). */
  private statementDone = false;
  /** Whether the COMMIT sent with the statement answered CommandComplete. */
  committed = false;
  /** The statement's prepared name (namedStatement), if it has one; see `name`. */
  private statementName: string | undefined;
  /** Whether prepare() is writing the statement's own messages. */
  private writing = false;
  /** The connection the statement was described on (its description is kept for the next run). */
  private preparedOn: PgConnection | undefined;

  constructor(
    private readonly open: readonly string[],
    text: string,
    values: unknown[],
    name?: string,
    private readonly commit = false,
  ) {
    super(text, values);
    this.openAnswers = open.length;
    this.statementName = name;
    if (!this.requiresPreparation()) throw new Error('OpenedQuery takes parameters');
  }

  /**
   * node-postgres reads a query's `name` to send its Parse only on the connection's first run,
   * and, as answers come, to track it: a ParseComplete marks the name parsed on the connection,
   * an error unmarks it as submitted. The open's own (unnamed) Parses answer first, so the name
   * shows only while prepare() writes the statement and once the open's answers are in; an error
   * during the open, which made PostgreSQL skip the statement's Parse, unmarks it in handleError.
   */
  get name(): string | undefined {
    return this.writing || this.openAnswers === 0 ? this.statementName : undefined;
  }

  set name(_ignored: string | undefined) {
    // Query's constructor assigns the (absent) name of its config; the constructor above sets it.
  }

  prepare(connection: PgConnection & OpenConnection): void {
    for (const statement of this.open) writeUnnamed(connection, statement);
    // A named statement already parsed and described on this connection: Bind, Execute, Sync.
    const name = this.statementName;
    const self = this as unknown as QueryInternals;
    const shape =
      name !== undefined && connection.parsedStatements[name] !== undefined
        ? describedShape(connection, name, self.types)
        : undefined;
    if (shape) {
      bindDescribed(self, connection, name!, shape);
      return;
    }
    this.preparedOn = connection;
    this.writing = true;
    try {
      (Query.prototype as unknown as { prepare(c: PgConnection): void }).prepare.call(
        this,
        connection,
      );
    } finally {
      this.writing = false;
    }
  }

  handleRowDescription(message: unknown): void {
    (
      Query.prototype as unknown as { handleRowDescription(m: unknown): void }
    ).handleRowDescription.call(this, message);
    if (this.statementName !== undefined && this.preparedOn) {
      rememberShape(this.preparedOn, this.statementName, this as unknown as QueryInternals);
    }
  }

  /** Query's Execute and Sync, with the COMMIT between them when `commit` is set. */
  _getRows(connection: PgConnection & OpenConnection, rows: number | undefined): void {
    const self = this as unknown as QueryInternals;
    if (!this.commit || rows) {
      (Query.prototype as unknown as QueryInternals)._getRows.call(this, connection, rows);
      return;
    }
    connection.execute({ portal: self.portal, rows: 0 });
    writeUnnamed(connection, 'COMMIT');
    connection.sync();
  }

  handleCommandComplete(message: unknown, connection: unknown): void {
    if (this.openAnswers > 0) {
      this.openAnswers--;
      return;
    }
    if (this.statementDone) {
      this.committed = (message as { text?: string }).text === 'COMMIT';
      return;
    }
    this.statementDone = true;
    (
      Query.prototype as unknown as { handleCommandComplete(m: unknown, c: unknown): void }
    ).handleCommandComplete.call(this, message, connection);
  }

  handleError(err: unknown, connection: PgConnection & OpenConnection): void {
    if (this.openAnswers > 0 && this.statementName !== undefined) {
      delete connection.submittedNamedStatements[this.statementName];
    }
    (Query.prototype as unknown as { handleError(e: unknown, c: unknown): void }).handleError.call(
      this,
      err,
      connection,
    );
  }

  private requiresPreparation(): boolean {
    return (
      Query.prototype as unknown as { requiresPreparation(this: Query): boolean }
    ).requiresPreparation.call(this);
  }
}

/** One statement without parameters as Parse, Bind and Execute of the unnamed statement. */
function writeUnnamed(connection: PgConnection & OpenConnection, text: string): void {
  connection.parse({ text, name: '', types: [] });
  connection.bind({ portal: '', statement: '', values: [], valueMapper: prepareValue });
  connection.execute({ portal: '', rows: 0 });
}

/** The Connection writes OpenedQuery adds to those of PgConnection. */
interface OpenConnection {
  parse(config: { text: string; name: string; types: unknown[] }): void;
  execute(config: { portal: string; rows: number }): void;
  /** Named statements whose Parse went out and has not been answered (node-postgres 8.x). */
  submittedNamedStatements: Record<string, string>;
  /** Named statements PostgreSQL has parsed on this connection (node-postgres 8.x). */
  parsedStatements: Record<string, string>;
}

/** A transaction open held back until the first statement (holdTransactionOpen). */
export interface HeldOpen {
  /** Whether the open went out (with the first statement); false: nothing was sent. */
  readonly sent: boolean;
  /** Removes the hold if it is still in place. Call before the connection goes back to the pool. */
  cancel(): void;
  /**
   * While the hold is in place: sends the open, the statement (with parameters) and a COMMIT in
   * one round trip (OpenedQuery); the outcome says whether the COMMIT ran. Undefined once the
   * open went out.
   */
  sendFinal(text: string, values: unknown[]): Promise<Outcome> | undefined;
}

/**
 * Holds back the statements that open a transaction on a checked-out pg client (`open`: START
 * TRANSACTION and its SET LOCALs) until its first statement. Works by giving the client an own
 * `query` for one call (TypeORM's PostgresQueryRunner.query calls `client.query(text,
 * parameters)`), which then removes itself:
 * - a statement with parameters goes with the open in one round trip (OpenedQuery), and never
 *   runs unless the open succeeded; a text with a prepared name (namedStatement) goes as that
 *   named statement, parsed on the connection's first run only (and the connection ends when it
 *   fails in a way that leaves pg unsure of what the connection holds, unsureOfPrepared);
 * - one without parameters may hold several statements (the simple protocol), and one that does
 *   not parse would stop an open sent in the same string from running too: the open is sent
 *   first, on its own, and the statement only after it succeeded.
 * Any other first call (a config object, a stream) is refused, and the hold stays. A transaction
 * whose work sends nothing sends nothing.
 */
export function holdTransactionOpen(client: PoolClient, open: readonly string[]): HeldOpen {
  const target = client as unknown as Record<string, unknown>;
  // node-postgres' own query (GuardedPgClient's on the server pools): a promise without a
  // callback, undefined with one.
  const send = client.query as (...args: unknown[]) => unknown;
  let sent = false;
  const cancel = () => {
    if (Object.prototype.hasOwnProperty.call(target, 'query') && target.query === held) {
      delete target.query;
    }
  };
  function held(text: unknown, values?: unknown, callback?: unknown): Promise<QueryResult> {
    if (
      typeof text !== 'string' ||
      (values !== undefined && !Array.isArray(values)) ||
      callback !== undefined
    ) {
      return Promise.reject(
        new Error('a held transaction open needs client.query(text, values) as its first call'),
      );
    }
    return first(text, values as unknown[] | undefined, false).then((outcome) =>
      outcome.ok ? outcome.result : Promise.reject(outcome.error),
    );
  }
  function first(
    text: string,
    parameters: unknown[] | undefined,
    commit: boolean,
  ): Promise<Outcome> {
    cancel();
    sent = true;
    if (!parameters || parameters.length === 0) {
      return (send.call(client, open.join('; ')) as Promise<QueryResult>)
        .then(() => send.call(client, text, parameters) as Promise<QueryResult>)
        .then(
          (result): Outcome => ({ ok: true, result, committed: false }),
          (error: unknown): Outcome => ({ ok: false, error, committed: false }),
        );
    }
    return sendOpened(client, send, open, text, parameters, commit);
  }
  target.query = held;
  return {
    get sent() {
      return sent;
    },
    cancel,
    sendFinal(text, values) {
      return sent ? undefined : first(text, values, true);
    },
  };
}

/**
 * How a statement sent with (or without) a COMMIT ended: its result or its error, and whether the
 * COMMIT ran (PostgreSQL said COMMIT; an error that came after it, parsing a row say, leaves the
 * transaction committed all the same). Never a rejection, so no answer goes unobserved.
 */
type Outcome =
  | { readonly ok: true; readonly result: QueryResult; readonly committed: boolean }
  | { readonly ok: false; readonly error: unknown; readonly committed: boolean };

/** node-postgres' query method (GuardedPgClient's on the server pools). */
type Send = (...args: unknown[]) => unknown;

/**
 * `text` with `parameters` as an OpenedQuery on `client` through `send` (its own query): `open`
 * before it, a COMMIT after it with `commit`. A named statement (namedStatement) that fails in a
 * way that leaves pg unsure of what the connection holds ends the connection, as GuardedPgClient
 * does for the statements it names.
 */
function sendOpened(
  client: PoolClient,
  send: Send,
  open: readonly string[],
  text: string,
  parameters: unknown[],
  commit: boolean,
): Promise<Outcome> {
  const name = namedStatement(text);
  const query = new OpenedQuery(open, text, parameters, name, commit);
  return new Promise((resolve) => {
    send.call(client, query, (err: Error | null, result: QueryResult) => {
      if (!err) return resolve({ ok: true, result, committed: query.committed });
      if (name !== undefined && unsureOfPrepared(err)) {
        destroyConnectionSocket(client);
      }
      resolve({ ok: false, error: err, committed: query.committed });
    });
  });
}

/**
 * A request transaction's last statement sent with its COMMIT (ADR 0003): what
 * TenantTransactions hands a repository's `execute(…, { last: true })` on a server pool. `send`
 * runs the statement and a COMMIT in its round trip (with the held open when it is the first
 * statement). From the moment it is queued the client refuses every other statement (behind the
 * COMMIT it would run outside the transaction) until `release`, which the transaction calls
 * once it has settled (`settled`): after a COMMIT that ran, when the connection goes back to the
 * pool; after a failure, before its rollback. A statement without parameters, or one that finds
 * other statements of the transaction still queued on the client, goes as any other statement
 * (the transaction then commits when its work returns).
 */
export interface FinalStatement {
  /** Whether a statement went with a COMMIT (whatever its answer). */
  readonly carried: boolean;
  /** Whether that COMMIT ran: the transaction is over. */
  readonly committed: boolean;
  /** The error the carrying statement failed with, if it did. */
  readonly failure: unknown;
  /** The statement and a COMMIT; answers the statement's rows (as queryQuietly). */
  send(text: string, values: unknown[]): Promise<QueryResult>;
  /** Resolves once the carrying statement was answered (at once if none went); never rejects. */
  settled(): Promise<void>;
  release(): void;
}

/** The FinalStatement of the transaction open on `client` (its held open, if still held). */
export function finalStatementOn(client: PoolClient, held: HeldOpen | undefined): FinalStatement {
  const target = client as unknown as Record<string, unknown>;
  let carried = false;
  let committed = false;
  let failure: unknown;
  let answered: Promise<void> = Promise.resolve();
  const refuse = refusalOf(client);
  return {
    get carried() {
      return carried;
    },
    get committed() {
      return committed;
    },
    get failure() {
      return failure;
    },
    async send(text, values) {
      if (carried) return refuse(text) as Promise<QueryResult>;
      const heldInPlace = held !== undefined && !held.sent;
      if (values.length === 0 || (!heldInPlace && clientBusy(client))) {
        return client.query(text, values) as Promise<QueryResult>;
      }
      carried = true;
      const pending = heldInPlace
        ? held.sendFinal(text, values)!
        : sendOpened(client, client.query as Send, [], text, values, true);
      // Queued: anything sent from now on would follow the COMMIT.
      target.query = refuse;
      answered = pending.then((outcome) => {
        committed = outcome.committed;
        if (!outcome.ok) failure = outcome.error;
      });
      const outcome = await pending;
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    },
    settled: () => answered,
    release() {
      if (Object.prototype.hasOwnProperty.call(target, 'query') && target.query === refuse) {
        delete target.query;
      }
    },
  };
}

/** Whether statements are queued or running on `client` (node-postgres 8.x's queues). */
function clientBusy(client: PoolClient): boolean {
  const state = client as unknown as {
    _queryQueue: unknown[];
    _sentQueryQueue?: unknown[];
    _getActiveQuery(): unknown;
  };
  return (
    state._queryQueue.length > 0 ||
    (state._sentQueryQueue?.length ?? 0) > 0 ||
    state._getActiveQuery() != null
  );
}

/**
 * A `query` for `client` that sends nothing and fails every call as its form expects: a promise
 * that rejects, a callback called with the error, a submitted query told of it.
 */
function refusalOf(client: PoolClient): Send {
  const connection = (client as unknown as { connection: unknown }).connection;
  return function refuse(...args: unknown[]): unknown {
    const error = new Error(
      "a statement after the transaction's last one, which carries its COMMIT",
    );
    const [first] = args;
    const submitted =
      first !== null && typeof first === 'object'
        ? (first as { callback?: unknown; handleError?: unknown })
        : undefined;
    const callback = args.find((arg) => typeof arg === 'function') ?? submitted?.callback;
    if (typeof callback === 'function') {
      process.nextTick(callback as (err: Error) => void, error);
      return undefined;
    }
    if (typeof submitted?.handleError === 'function') {
      const handleError = submitted.handleError as (err: Error, connection: unknown) => void;
      process.nextTick(() => handleError.call(submitted, error, connection));
      return submitted;
    }
    return Promise.reject(error);
  };
}

/** Subscriber methods that make TypeORM's query and commit broadcasts do something. */
const QUERY_AND_COMMIT_EVENTS = [
  'beforeQuery',
  'afterQuery',
  'beforeTransactionCommit',
  'afterTransactionCommit',
] as const;

const quietSources = new WeakMap<DataSource, boolean>();

/**
 * PostgresQueryRunner.commitTransaction for the outermost transaction of a server pool's runner:
 * the same COMMIT, the same error (QueryFailedError around the driver's) and the same state
 * after it (no transaction, depth 0), without TypeORM's broadcasts to subscribers, its query log
 * and its QueryResult: about ten promises per write. Taken only where quietOn allows it;
 * anything else goes to TypeORM's own commitTransaction.
 */
export async function commitTransaction(runner: QueryRunner): Promise<void> {
  const state = runner as unknown as {
    isTransactionActive: boolean;
    transactionDepth: number;
    isReleased: boolean;
    databaseConnection?: { query(text: string): Promise<unknown> };
  };
  const client = state.databaseConnection;
  if (
    !state.isTransactionActive ||
    state.transactionDepth !== 1 ||
    state.isReleased ||
    typeof client?.query !== 'function' ||
    !quietOn(runner.connection)
  ) {
    return runner.commitTransaction();
  }
  try {
    await client.query('COMMIT');
  } catch (err) {
    throw new QueryFailedError('COMMIT', undefined, err as Error);
  }
  state.isTransactionActive = false;
  state.transactionDepth = 0;
}

/**
 * PostgresQueryRunner.query(sql, params) on a server pool's runner in an open transaction (the
 * manager's own runner): the same statement on the same client, the same answer (the rows; `[rows,
 * rowCount]` for UPDATE and DELETE) and the same error (QueryFailedError around the driver's),
 * without TypeORM's query broadcasts, its query log and its QueryResult. Taken at any
 * transaction depth where quietOn allows it; anything else (no runner of its own, a released
 * one, no open transaction) goes to `manager.query`. With `last`, the statement goes with the
 * transaction's COMMIT (FinalStatement) when it takes the quiet path; on `manager.query` the
 * transaction commits as usual when its work returns.
 */
export async function queryQuietly(
  manager: EntityManager,
  sql: string,
  params: unknown[],
  last?: FinalStatement,
): Promise<unknown> {
  const runner = manager.queryRunner;
  const state = runner as unknown as
    | {
        isTransactionActive: boolean;
        isReleased: boolean;
        databaseConnection?: { query(text: string, values: unknown[]): Promise<QueryResult> };
      }
    | undefined;
  const client = state?.databaseConnection;
  if (
    !runner ||
    !state?.isTransactionActive ||
    state.isReleased ||
    typeof client?.query !== 'function' ||
    !quietOn(runner.connection)
  ) {
    return manager.query(sql, params);
  }
  let raw: QueryResult;
  try {
    raw = await (last ? last.send(sql, params) : client.query(sql, params));
  } catch (err) {
    throw new QueryFailedError(sql, params, err as Error);
  }
  return raw.command === 'UPDATE' || raw.command === 'DELETE' ? [raw.rows, raw.rowCount] : raw.rows;
}

/**
 * What the data sources' TypeORM logger does with a query and a failed one (data-sources.ts):
 * nothing. The quiet paths skip TypeORM's log calls only while the logger's are this one, so a
 * logger that records queries (a test's, a debugging session's) still sees every statement.
 */
export function silentQueryLog(): void {
  // Nothing: TypeORM's own lines stay silent (see data-sources.ts).
}

/**
 * Whether the quiet paths (commitTransaction, queryQuietly) may skip TypeORM's query method on
 * `dataSource`: a PostgreSQL server's pool (node-postgres' answers; not the embedded one) with no
 * subscriber for query or commit events, no query logging and no slow-query threshold (all fixed
 * when the data source is built, so remembered), and a logger that does nothing with a query
 * (checked on every call, so a recorder put in place later sees every statement).
 */
function quietOn(dataSource: DataSource): boolean {
  let quiet = quietSources.get(dataSource);
  if (quiet === undefined) {
    quiet =
      runtimePgPool(dataSource) !== undefined &&
      !dataSource.options.maxQueryExecutionTime &&
      !dataSource.options.logging &&
      dataSource.subscribers.every((subscriber) =>
        QUERY_AND_COMMIT_EVENTS.every(
          (event) => typeof (subscriber as Record<string, unknown>)[event] !== 'function',
        ),
      );
    quietSources.set(dataSource, quiet);
  }
  const { logger } = dataSource;
  return quiet && logger.logQuery === silentQueryLog && logger.logQueryError === silentQueryLog;
}

/** Tells TypeORM the runner's transaction is over without a statement (nothing was opened). */
export function markTransactionClosed(runner: QueryRunner): void {
  const state = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
  state.isTransactionActive = false;
  state.transactionDepth = 0;
}

// ---------------------------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------------------------

/**
 * Whether a response on this socket has already sent its headers (Node's http server keeps the
 * socket's current response in `_httpMessage`): an error answer written now would interleave.
 */
export function responseUnderway(socket: Socket): boolean {
  const message = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  return message?.headersSent === true;
}

// ---------------------------------------------------------------------------------------------
// Nest (@nestjs/core, @nestjs/common, nestjs-cls)
// ---------------------------------------------------------------------------------------------

// Metadata keys Nest's decorators write (@UseGuards, @UseInterceptors, @UsePipes, @UseFilters,
// @HttpCode, the route decorators); not exported from the package root.
export {
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  INTERCEPTORS_METADATA,
  METHOD_METADATA,
  PATH_METADATA,
  PIPES_METADATA,
  REDIRECT_METADATA,
  RENDER_METADATA,
  RESPONSE_PASSTHROUGH_METADATA,
  ROUTE_ARGS_METADATA,
  SSE_METADATA,
} from '@nestjs/common/constants';

const ROUTE_ARGS_METADATA_KEY: string = ROUTE_ARGS_METADATA_VALUE;
const CUSTOM_ROUTE_ARGS_KEY: string = CUSTOM_ROUTE_ARGS_METADATA_VALUE;

/** The kinds of handler parameters (@Query, @Param, @Res, …) as Nest records them. */
export { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';

/** One parameter decorator of a handler, as @Query(), @Param(), @Res() … record it. */
export interface RouteArgument {
  /** A RouteParamtypes value, or 'custom' for createParamDecorator decorators. */
  readonly type: number | 'custom';
  readonly index: number;
  readonly data: unknown;
  readonly pipes: readonly unknown[];
}

/**
 * The parameter decorators of `controller.prototype[method]`: Nest keeps them on the class under
 * ROUTE_ARGS_METADATA, keyed `${paramtype}:${index}` (custom ones `${key}__customRouteArgs__:${index}`).
 */
export function routeArgumentsOf(controller: Type<unknown>, method: string): RouteArgument[] {
  const recorded = (Reflect.getMetadata(ROUTE_ARGS_METADATA_KEY, controller, method) ??
    {}) as Record<string, { index: number; data: unknown; pipes?: unknown[] }>;
  return Object.entries(recorded).map(([key, entry]) => ({
    type: key.includes(CUSTOM_ROUTE_ARGS_KEY) ? 'custom' : Number(key.split(':')[0]),
    index: entry.index,
    data: entry.data,
    pipes: entry.pipes ?? [],
  }));
}

/** The global route prefix (`app.setGlobalPrefix`), '' when none. */
export function globalPrefixOf(app: INestApplicationContext): string {
  return app.get(ApplicationConfig).getGlobalPrefix();
}

/** The execution context Nest builds for an HTTP request to `handler` of `controller`. */
export function httpExecutionContext(
  request: unknown,
  reply: unknown,
  controller: Type<unknown>,
  handler: (...args: never[]) => unknown,
): ExecutionContext {
  return new ExecutionContextHost([request, reply, undefined], controller, handler);
}

/** The application's global enhancers, in the order Nest runs them. */
export interface GlobalEnhancers {
  readonly guards: CanActivate[];
  readonly interceptors: NestInterceptor[];
  readonly pipes: PipeTransform[];
  readonly filters: ExceptionFilter[];
  /**
   * How many global enhancers are request-scoped (APP_* providers Nest builds per request): they
   * are not in the lists above.
   */
  readonly requestScoped: number;
}

/**
 * The global guards, interceptors, pipes and filters (useGlobal* and APP_* providers), read from
 * Nest's ApplicationConfig provider.
 */
export function globalEnhancersOf(app: INestApplicationContext): GlobalEnhancers {
  const config = app.get(ApplicationConfig);
  return {
    guards: config.getGlobalGuards(),
    interceptors: config.getGlobalInterceptors(),
    pipes: config.getGlobalPipes(),
    filters: config.getGlobalFilters(),
    requestScoped:
      config.getGlobalRequestGuards().length +
      config.getGlobalRequestInterceptors().length +
      config.getGlobalRequestPipes().length +
      config.getGlobalRequestFilters().length,
  };
}

/**
 * The no-op interceptor nestjs-cls registers when its interceptor is not mounted
 * (`{ intercept: (_, next) => next.handle() }`, a plain object), recognised by its source text.
 */
export function isClsPassThroughInterceptor(interceptor: NestInterceptor): boolean {
  return (
    Object.getPrototypeOf(interceptor) === Object.prototype &&
    interceptor.intercept.toString().replace(/\s+/g, '') === '(_,next)=>next.handle()'
  );
}

// ---------------------------------------------------------------------------------------------
// @nestjs/throttler
// ---------------------------------------------------------------------------------------------

// The metadata keys @Throttle and @SkipThrottle write (suffixed with the throttler's name); not
// exported from the package root.
export {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants';

/** What a throttler storage answers for one hit (the root exports the storage, not this type). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
