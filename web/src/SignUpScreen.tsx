// Sign up: the SDK's <FaceSignUp>, as any other app would use it.

import { FaceSignUp, type FaceGateClient, type FaceGateUser } from '@facegate/sdk';
import { ScreenHeading } from './ScreenHeading';

export { DEFAULT_SIGNUP_FRAMES as FRAMES_NEEDED } from '@facegate/sdk';

export interface SignUpScreenProps {
  client: FaceGateClient;
  onSignedUp: (user: FaceGateUser) => void;
}

export function SignUpScreen({ client, onSignedUp }: SignUpScreenProps) {
  return (
    <>
      <ScreenHeading>Sign up</ScreenHeading>
      <div className="card">
        <FaceSignUp
          client={client}
          onSignUp={(user) => onSignedUp(user)}
          enrolledActions={
            <a className="link-button" href="#/login">
              Log in instead
            </a>
          }
        />
      </div>
    </>
  );
}
