// The facegate web app: four screens behind hash navigation, all talking to the server via the SDK.

import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { createFaceGate, type FaceGateClient, type FaceGateUser } from '@facegate/sdk';
import { AccountScreen } from './AccountScreen';
import { AdminScreen } from './AdminScreen';
import { AuthorizeScreen } from './AuthorizeScreen';
import { LoginScreen } from './LoginScreen';
import { NavBar } from './NavBar';
import { SignUpScreen } from './SignUpScreen';
import { hashParams, useHashRoute } from './useHashRoute';

export interface AppProps {
  /** The SDK client; tests pass one with a fake fetch. */
  client?: FaceGateClient;
}

export function App({ client: givenClient }: AppProps) {
  const client = useMemo(() => givenClient ?? createFaceGate(), [givenClient]);
  const [route, navigate] = useHashRoute();
  const [user, setUser] = useState<FaceGateUser | null>(null);

  // A session cookie from an earlier visit still counts; a 401 just means "not logged in".
  useEffect(() => {
    let current = true;
    client.me().then(
      (me) => current && setUser(me),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [client]);

  const enter = useCallback(
    (next: FaceGateUser) => {
      setUser(next);
      navigate('account');
    },
    [navigate],
  );

  const leave = useCallback(() => {
    setUser(null);
    navigate('login');
  }, [navigate]);

  let screen: ReactNode;
  switch (route) {
    case 'signup':
      screen = <SignUpScreen client={client} onSignedUp={enter} />;
      break;
    case 'account':
      screen = <AccountScreen client={client} user={user} onUser={setUser} onSignedOut={leave} />;
      break;
    case 'admin':
      screen = <AdminScreen client={client} />;
      break;
    case 'authorize':
      screen = <AuthorizeScreen client={client} params={hashParams(window.location.hash)} />;
      break;
    default:
      screen = <LoginScreen client={client} onLoggedIn={enter} />;
  }

  return (
    <div className="app">
      <NavBar route={route} user={user} />
      <main className={route === 'admin' ? 'screen wide' : 'screen'} id="main">
        {screen}
      </main>
    </div>
  );
}
