// Light or dark, as the OS says (prefers-color-scheme), followed live.

import { useEffect, useState } from "preact/hooks";

const query = () => window.matchMedia("(prefers-color-scheme: dark)");

export function useTheme(): "light" | "dark" {
  const [dark, setDark] = useState(() => query().matches);
  useEffect(() => {
    const media = query();
    const change = () => setDark(media.matches);
    media.addEventListener("change", change);
    return () => media.removeEventListener("change", change);
  }, []);
  return dark ? "dark" : "light";
}
