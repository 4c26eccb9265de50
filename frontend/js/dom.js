// el makes an element with properties ("class", "text" as textContent, any
// other as an attribute) and children. Text only ever goes in as text:
// nothing decrypted is parsed as HTML.
export const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
