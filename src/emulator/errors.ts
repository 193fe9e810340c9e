/**
 * Salesforce REST error bodies are an array of {message, errorCode, fields?}. An `SfError` thrown anywhere in
 * a handler becomes exactly that body with its status.
 */
export interface SfErrorBody {
  message: string;
  errorCode: string;
  fields?: string[];
}

export class SfError extends Error {
  readonly status: number;
  readonly errorCode: string;
  readonly fields: string[] | undefined;
  constructor(status: number, errorCode: string, message: string, fields?: string[]) {
    super(message);
    this.name = 'SfError';
    this.status = status;
    this.errorCode = errorCode;
    this.fields = fields;
  }
  toBody(): SfErrorBody {
    const body: SfErrorBody = { message: this.message, errorCode: this.errorCode };
    if (this.fields !== undefined) body.fields = this.fields;
    return body;
  }
}

/** Record-level failure used by DML paths; same shape as a REST error entry, with `fields` always present. */
export function dmlError(errorCode: string, message: string, fields: string[] = []): SfError {
  return new SfError(400, errorCode, message, fields);
}

export const notFound = (what = 'The requested resource does not exist') => new SfError(404, 'NOT_FOUND', what);
