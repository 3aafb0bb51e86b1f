import { randomUUID } from 'node:crypto';
import { jwtAuthEnv } from 'test/factories/tokens';
import { apiClient } from 'test/sdk/api-client';
import { startApp } from 'test/support/http';
import { describeWithPostgres } from 'test/support/environment';
import {
  boardsApiSuite,
  type Board,
  expectErrorBody,
  type Generation,
} from 'test/support/boards-api-suite';

/**
 * Audit events: exactly one per board and generation mutation, none for refused or empty writes
 * nor for replays, readable by tenant admins only, and none at all with auditing off.
 */

interface AuditEvent {
  action: string;
  actor_id: string | null;
  target_type: string;
  target_id: string | null;
}

describeWithPostgres('boards API: audit events (BOARDS_ENABLE_AUDIT_LOGGING=true)', () => {
  const suite = boardsApiSuite();
  const { api, tokens, ids, createBoard, boardOf, listAll } = suite;

  const eventsFor = async (targetId: string): Promise<AuditEvent[]> => {
    const events = await listAll<AuditEvent>(tokens.admin, '/api/audit-events?limit=100');
    return events.filter((event) => event.target_id === targetId);
  };

  it('each board mutation writes exactly one event, readable by a tenant admin', async () => {
    const created = await createBoard(tokens.alice, { title: 'Audited' });
    const boardId = created.body.id;
    const path = `/api/boards/${boardId}`;
    const actions = async () => (await eventsFor(boardId)).map((e) => e.action).sort();

    expect(await actions()).toEqual(['board.create']);
    const [event] = await eventsFor(boardId);
    expect(event).toMatchObject({
      actor_id: ids.alice,
      target_type: 'board',
      target_id: boardId,
    });

    expect(
      (await api({ method: 'PATCH', path, token: tokens.alice, body: { title: 'Audited 2' } }))
        .status,
    ).toBe(200);
    expect(await actions()).toEqual(['board.create', 'board.update']);

    // A refused write and a write that changes nothing record nothing.
    expect(
      (await api({ method: 'PATCH', path, token: tokens.bob, body: { title: 'x' } })).status,
    ).toBe(404);
    expect((await api({ method: 'DELETE', path, token: tokens.carol })).status).toBe(404);
    expect((await api({ method: 'PATCH', path, token: tokens.alice, body: {} })).status).toBe(200);
    expect(await actions()).toEqual(['board.create', 'board.update']);

    expect((await api({ method: 'DELETE', path, token: tokens.alice })).status).toBe(204);
    expect(await actions()).toEqual(['board.create', 'board.delete', 'board.update']);
  });

  it('board membership changes write one event each: add, update, remove, leave', async () => {
    const board = await boardOf(tokens.alice, { title: 'Audited members' });
    const members = `/api/boards/${board.id}/members`;
    const memberActions = async () =>
      (await eventsFor(board.id)).map((e) => e.action).filter((a) => a.startsWith('board.member.'));
    const add = (userId: string) =>
      api({ method: 'POST', path: members, token: tokens.alice, body: { user_id: userId } });
    expect((await add(ids.bob)).status).toBe(201);
    expect((await add(ids.bob)).status).toBe(409);
    expect(await memberActions()).toEqual(['board.member.add']);
    expect(
      (
        await api({
          method: 'PATCH',
          path: `${members}/${ids.bob}`,
          token: tokens.alice,
          body: { role: 'editor' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await api({ method: 'DELETE', path: `${members}/${ids.bob}`, token: tokens.alice })).status,
    ).toBe(204);
    expect((await add(ids.carol)).status).toBe(201);
    expect(
      (await api({ method: 'DELETE', path: `${members}/${ids.carol}`, token: tokens.carol }))
        .status,
    ).toBe(204);
    expect((await memberActions()).sort()).toEqual(
      [
        'board.member.add',
        'board.member.add',
        'board.member.leave',
        'board.member.remove',
        'board.member.update',
      ].sort(),
    );
  });

  it('an ownership transfer writes exactly one event', async () => {
    const board = await boardOf(tokens.alice, { title: 'Audited transfer' });
    const transferred = await api({
      method: 'POST',
      path: `/api/boards/${board.id}/transfer`,
      token: tokens.alice,
      body: { new_owner_id: ids.bob },
    });
    expect(transferred.status).toBe(200);
    const events = (await eventsFor(board.id)).filter((e) => e.action !== 'board.create');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor_id: ids.alice,
      target_type: 'board',
      action: expect.stringMatching(/^board\./),
    });
  });

  it('each generation mutation writes exactly one event', async () => {
    const board = await boardOf(tokens.alice, { title: 'Audited generations' });
    const generation = await api<Generation>({
      method: 'POST',
      path: `/api/boards/${board.id}/generations`,
      token: tokens.alice,
      body: { generator_name: 'gen', artifact_type: 'image' },
    });
    const id = generation.body.id;
    const actions = async () => (await eventsFor(id)).map((e) => e.action).sort();
    expect(await actions()).toEqual(['generation.create']);
    expect(
      (await api({ method: 'POST', path: `/api/generations/${id}/cancel`, token: tokens.alice }))
        .status,
    ).toBe(200);
    expect(
      (await api({ method: 'POST', path: `/api/generations/${id}/cancel`, token: tokens.alice }))
        .status,
    ).toBe(409);
    expect(await actions()).toEqual(['generation.cancel', 'generation.create']);
    expect(
      (await api({ method: 'DELETE', path: `/api/generations/${id}`, token: tokens.alice })).status,
    ).toBe(204);
    expect(await actions()).toEqual([
      'generation.cancel',
      'generation.create',
      'generation.delete',
    ]);
  });

  it('a replayed POST writes no second event', async () => {
    const key = `audit-replay-${randomUUID()}`;
    const first = await createBoard(
      tokens.alice,
      { title: 'Replayed' },
      { 'idempotency-key': key },
    );
    const second = await createBoard(
      tokens.alice,
      { title: 'Replayed' },
      { 'idempotency-key': key },
    );
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect((await eventsFor(first.body.id)).map((e) => e.action)).toEqual(['board.create']);
  });

  it('members of the tenant get 403', async () => {
    expectErrorBody(
      await api({ method: 'GET', path: '/api/audit-events', token: tokens.alice }),
      403,
      'tenant_admin_required',
    );
  });

  it('with auditing off the route is 404 and mutations record nothing', async () => {
    const quiet = await startApp(
      suite.db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })),
    );
    try {
      const quietApi = apiClient(quiet.baseUrl);
      expectErrorBody(
        await quietApi({ method: 'GET', path: '/api/audit-events', token: tokens.admin }),
        404,
        'audit_logging_disabled',
      );
      const created = await quietApi<Board>({
        method: 'POST',
        path: '/api/boards',
        token: tokens.alice,
        body: { title: 'Unaudited' },
      });
      expect(created.status).toBe(201);
      expect(await eventsFor(created.body.id)).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});
