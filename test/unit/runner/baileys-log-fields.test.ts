import { type BinaryNode, binaryNodeToString } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { baileysLogFields } from '#runner/sessions/baileys-log-fields.ts';
import { stanzaSkeleton } from '#runner/sessions/stanza-skeleton.ts';
import { REDACTED } from '#shared/observability.ts';

const PATIENT_JID = '5511922234567@s.whatsapp.net';

/** A patient's message as the server delivers it: `notify` is the patient's push name. */
const message: BinaryNode = {
  tag: 'message',
  attrs: {
    id: '3EB065F0CF5FCB7674769E',
    t: '1764536306',
    type: 'text',
    from: PATIENT_JID,
    sender_lid: '86123456785520@lid',
    notify: 'Maria Aparecida Quintela',
  },
  content: [
    { tag: 'enc', attrs: { v: '2', type: 'pkmsg' }, content: Buffer.alloc(120, 1) },
    { tag: 'device-identity', attrs: {}, content: Buffer.alloc(40, 2) },
  ],
};
const SKELETON =
  "<message id='3EB065F0CF5FCB7674769E' t type='text' from='55*******4567@s.whatsapp.net' sender_lid='86********5520@lid' notify>" +
  "<enc v='2' type='pkmsg'>[120 bytes]</enc><device-identity>[40 bytes]</device-identity></message>";

/** An error as Baileys' Boom makes it: status in `output`, whatever it had at hand in `data`. */
function boom(message: string, statusCode: number, data: unknown): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode }, data });
}

describe('Baileys log fields', () => {
  it('shows a stanza as its skeleton, from the node or as Baileys prints it', () => {
    expect(stanzaSkeleton(message)).toBe(SKELETON);
    expect(stanzaSkeleton(binaryNodeToString(message))).toBe(
      "<message id='3EB065F0CF5FCB7674769E' t type='text' from='55*******4567@s.whatsapp.net' sender_lid='86********5520@lid' notify>" +
        "<enc v='2' type='pkmsg'></enc><device-identity></device-identity></message>",
    );
    expect(stanzaSkeleton({ tag: 'stream:error', attrs: { code: '515' } })).toBe(
      "<stream:error code='515'/>",
    );
  });

  it('keeps a printed value only when no name or text can take its shape', () => {
    // A push name that tries to pass for the attributes that follow it.
    const forged = binaryNodeToString({
      tag: 'message',
      attrs: { notify: "x' type='Maria' id='Quintela", code: 'Maria' },
    });
    expect(stanzaSkeleton(forged)).toBe('<message notify type id code/>');
  });

  it('keeps errors as name, status, code and frames, with numbers in the message masked', () => {
    const error = boom('No session for 5511922234567.0', 428, message);
    const fields = baileysLogFields({ error, node: binaryNodeToString(message) });
    expect(fields).toEqual({
      error: {
        name: 'Error',
        message: 'No session for 55*******4567.0',
        statusCode: 428,
        stack: expect.stringMatching(/^at /),
      },
      node: expect.stringContaining('<message '),
    });
    expect(JSON.stringify(fields)).not.toMatch(/Maria|922234567/);
    expect(baileysLogFields({ err: boom('WebSocket Error (undefined)', 500, 1006) }).err).toMatchObject({
      data: 1006,
    });
  });

  it('masks addresses and keeps ids, protocol words, counts and flags of a message key', () => {
    expect(
      baileysLogFields({
        key: { remoteJid: PATIENT_JID, fromMe: false, id: '3EB065F0CF5FCB7674769E', participant: undefined },
        jids: [PATIENT_JID, '86123456785520:3@lid'],
        messageType: 'pkmsg',
        retryCount: 2,
        isSessionRecordError: false,
        pn: '5511922234567',
      }),
    ).toEqual({
      messageKey: { remoteJid: '55*******4567@s.whatsapp.net', fromMe: false, id: '3EB065F0CF5FCB7674769E' },
      jids: ['55*******4567@s.whatsapp.net', '86********5520:3@lid'],
      messageType: 'pkmsg',
      retryCount: 2,
      isSessionRecordError: false,
      pn: '55*******4567',
    });
  });

  it('keeps the name of any other field and drops its value: names, bodies, places, creds', () => {
    const fields = baileysLogFields({
      name: 'Maria Aparecida Quintela',
      pushName: 'Maria',
      me: { id: PATIENT_JID, name: 'Maria' },
      msg: { conversation: 'Preciso remarcar' },
      location: { degreesLatitude: -22.9068467 },
      fileName: 'exame-glicemia.pdf',
      jid: 'Maria Quintela',
      type: 'a vCard: FN:Maria',
      creds: { advSecretKey: Buffer.alloc(32).toString('base64') },
      latitude: -22.9068467,
      timestampish: 5511922234567,
      total: 3,
      unhandled: true,
    });
    expect(fields).toEqual({
      name: REDACTED,
      pushName: REDACTED,
      me: REDACTED,
      msg: REDACTED,
      location: REDACTED,
      fileName: REDACTED,
      jid: REDACTED,
      type: REDACTED,
      creds: REDACTED,
      latitude: REDACTED,
      timestampish: REDACTED,
      total: 3,
      unhandled: true,
    });
  });
});
