/** What both pages do with the DOM: find an element, build a table row or a button, hand a file to the browser. */
export const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

const cell = (content: string | Node) => {
  const td = document.createElement('td');
  td.append(content);
  return td;
};

/** A table row of cells holding text (never parsed as HTML) or elements. */
export const row = (cells: Array<string | Node>) => {
  const tr = document.createElement('tr');
  tr.append(...cells.map(cell));
  return tr;
};

export const button = (text: string, onClick: () => void, label?: string) => {
  const b = Object.assign(document.createElement('button'), { type: 'button', textContent: text });
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
};

/** Offers a file as a download (an export), from memory. */
export function saveFile(content: Blob, name: string): void {
  const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(content), download: name });
  link.click();
  URL.revokeObjectURL(link.href);
}
