// Images attached to the next prompt: picked with the file input or pasted into the prompt,
// shown as thumbnails that can be removed, and sent as data URLs in the `images` field of /chat.

/** What POST /chat accepts (CHAT_MAX_IMAGES) and the types the server recognises. */
export const MAX_IMAGES = 4;
const TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(file);
  });
}

/** A thumbnail of a data URL (an `img` element; CSP allows `data:` images). */
export function thumbnail(dataUrl, alt) {
  const img = document.createElement('img');
  img.className = 'thumb';
  img.src = dataUrl;
  img.alt = alt;
  return img;
}

export function initAttachments({ input, list, prompt, showNotice }) {
  const items = [];

  function render() {
    list.replaceChildren(
      ...items.map((item, index) => {
        const entry = document.createElement('li');
        entry.className = 'attachment';
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'remove';
        remove.textContent = '×';
        remove.setAttribute('aria-label', `Remove ${item.name}`);
        remove.addEventListener('click', () => {
          items.splice(index, 1);
          render();
          prompt.focus();
        });
        entry.append(thumbnail(item.dataUrl, item.name), remove);
        return entry;
      }),
    );
    list.hidden = items.length === 0;
  }

  async function add(files) {
    for (const file of files) {
      if (!TYPES.includes(file.type)) {
        showNotice(`${file.name || 'That file'} is not a PNG, JPEG, GIF or WebP image.`);
        continue;
      }
      if (items.length >= MAX_IMAGES) {
        showNotice(`At most ${MAX_IMAGES} images go with one prompt.`);
        break;
      }
      try {
        items.push({ name: file.name || 'pasted image', dataUrl: await readAsDataUrl(file) });
      } catch (error) {
        showNotice(`${file.name || 'The image'} could not be read: ${error.message}`);
      }
    }
    render();
  }

  input.addEventListener('change', () => {
    void add(Array.from(input.files ?? []));
    input.value = '';
  });
  prompt.addEventListener('paste', (event) => {
    const files = Array.from(event.clipboardData?.items ?? [])
      .filter((item) => item.kind === 'file' && item.type.startsWith('image/'))
      .map((item) => item.getAsFile())
      .filter(Boolean);
    if (files.length === 0) return; // text: the browser pastes it
    event.preventDefault();
    void add(files);
  });
  render();

  return {
    /** The attached images as data URLs, emptying the list (they go with one prompt). */
    take() {
      const urls = items.map((item) => item.dataUrl);
      items.length = 0;
      render();
      return urls;
    },
  };
}
