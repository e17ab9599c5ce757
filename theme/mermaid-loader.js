// Renders the book's mermaid diagrams without a CDN and without making every page pay for them.
//
// - The 2.6 MB mermaid bundle (src/assets/mermaid.min.js, from the mdbook-mermaid crate) is
//   loaded only on pages that contain a `pre.mermaid` block.
// - Diagrams use mermaid's dark palette under mdBook's dark themes, and are re-rendered from
//   their original source whenever the reader switches theme (no page reload). Two colours of
//   that palette are changed so that all text reaches WCAG AA's 4.5:1: edge labels (#ccc on
//   #585858 is 4.4:1) and the text of notes (#b8b6b6 on #474949 is 4.5:1 only when rounded).
// - Each diagram gets a text alternative a screen reader announces: unless its source has its
//   own `accTitle`, the SVG is named after the section it is in ("Diagram: <heading>") and
//   described by the paragraph just before it, which the chapters write as its caption.
(() => {
    const blocks = Array.from(document.querySelectorAll('pre.mermaid'));
    if (blocks.length === 0) {
        return;
    }
    // Keep each diagram's source: mermaid replaces the text with an SVG.
    for (const block of blocks) {
        block.dataset.source = block.textContent;
    }
    const darkThemes = ['coal', 'navy', 'ayu'];
    const html = document.documentElement;
    const isDark = () => darkThemes.some((theme) => html.classList.contains(theme));

    const DARK_TEXT = { edgeLabelBackground: '#383838', noteTextColor: '#e8e8e8' };

    // The heading of the section a diagram is in, and the paragraph before it.
    const describe = (block, n) => {
        const svg = block.querySelector('svg');
        if (!svg || svg.hasAttribute('aria-labelledby') || svg.hasAttribute('aria-label')) {
            return;
        }
        let heading = null;
        let caption = null;
        for (let el = block.previousElementSibling; el; el = el.previousElementSibling) {
            if (!caption && el.tagName === 'P') {
                caption = el;
            }
            if (/^H[1-6]$/.test(el.tagName)) {
                heading = el;
                break;
            }
        }
        const section = heading ? heading.textContent.trim() : document.title;
        svg.setAttribute('aria-label', `Diagram: ${section}`);
        if (caption) {
            caption.id = caption.id || `diagram-caption-${n + 1}`;
            svg.setAttribute('aria-describedby', caption.id);
        }
    };

    let rendering = Promise.resolve();
    const render = () => {
        rendering = rendering.then(async () => {
            const dark = isDark();
            window.mermaid.initialize({
                startOnLoad: false,
                theme: dark ? 'dark' : 'default',
                themeVariables: dark ? DARK_TEXT : {},
            });
            for (const block of blocks) {
                block.removeAttribute('data-processed');
                block.textContent = block.dataset.source;
            }
            await window.mermaid.run({ nodes: blocks });
            blocks.forEach(describe);
            html.dataset.mermaidTheme = dark ? 'dark' : 'default';
        });
        return rendering;
    };

    const script = document.createElement('script');
    script.src = path_to_root + 'assets/mermaid.min.js';
    script.onload = () => {
        render();
        // mdBook switches themes by changing the classes on <html>.
        let wasDark = isDark();
        new MutationObserver(() => {
            if (isDark() !== wasDark) {
                wasDark = isDark();
                render();
            }
        }).observe(html, { attributes: true, attributeFilter: ['class'] });
    };
    document.head.appendChild(script);
})();
