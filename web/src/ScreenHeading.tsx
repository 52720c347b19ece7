// A screen's <h1>. It takes focus when the screen opens, so keyboard and screen-reader users land
// on the new screen instead of staying on the link they pressed.

import { useEffect, useRef, type ReactNode } from 'react';

export interface ScreenHeadingProps {
  children: ReactNode;
}

export function ScreenHeading({ children }: ScreenHeadingProps) {
  const ref = useRef<HTMLHeadingElement | null>(null);
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
