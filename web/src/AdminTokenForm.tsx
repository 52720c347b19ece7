// Asks for the server's admin token (the file admin.token in its data directory).

import { useId, useState } from 'react';

export interface AdminTokenFormProps {
  onToken: (token: string) => void;
  problem?: string | null;
}

export function AdminTokenForm({ onToken, problem }: AdminTokenFormProps) {
  const id = useId();
  const [value, setValue] = useState('');
  return (
    <form
      className="card form"
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
    >
      <div className="field">
        <label htmlFor={id}>Admin token</label>
        <input
          id={id}
          name="admin_token"
          type="password"
          autoComplete="off"
          required
          value={value}
          aria-invalid={problem ? true : undefined}
          aria-describedby={`${id}-help`}
          onChange={(event) => setValue(event.target.value)}
        />
        <small id={`${id}-help`}>
          The contents of <code>admin.token</code> in the server&apos;s data directory. Kept only in this tab.
        </small>
        {problem && (
          <p className="field-error" role="alert">
            {problem}
          </p>
        )}
      </div>
      <button type="submit" className="fg-button">
        Open admin
      </button>
    </form>
  );
}
