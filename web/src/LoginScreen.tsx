// Log in: the SDK's <FaceLogin>, as any other app would use it.

import { FaceLogin, type FaceGateClient, type FaceGateUser } from '@facegate/sdk';
import { ScreenHeading } from './ScreenHeading';

export interface LoginScreenProps {
  client: FaceGateClient;
  onLoggedIn: (user: FaceGateUser) => void;
}

export function LoginScreen({ client, onLoggedIn }: LoginScreenProps) {
  return (
    <>
      <ScreenHeading>Log in</ScreenHeading>
      <p className="lead">Look at the camera. You are logged in as soon as we recognise you.</p>
      <FaceLogin
        client={client}
        onLogin={(user) => onLoggedIn(user)}
        failureActions={
          <a className="link-button" href="#/signup">
            New here? Sign up
          </a>
        }
      />
      <p className="aside">
        No account yet? <a href="#/signup">Sign up with your face</a>.
      </p>
    </>
  );
}
