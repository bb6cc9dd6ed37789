/** A problem the user can fix: its message names what is wrong and what to do. The CLI
 *  prints it without a stack trace and exits non-zero; the extension shows it as is. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
