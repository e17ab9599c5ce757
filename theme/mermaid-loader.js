// Renders the book's mermaid diagrams without a CDN and without making every page pay for them.
//
// - The 2.6 MB mermaid bundle (src/assets/mermaid.min.js, from the mdbook-mermaid crate) is
//   loaded only on pages that contain a `pre.mermaid` block.
// - Diagrams use mermaid's dark palette under mdBook's dark themes, and are re-rendered from
//   their original source whenever the reader switches theme (no page reload).
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

    let rendering = Promise.resolve();
    const render = () => {
        rendering = rendering.then(async () => {
            const dark = isDark();
            window.mermaid.initialize({ startOnLoad: false, theme: dark ? 'dark' : 'default' });
            for (const block of blocks) {
                block.removeAttribute('data-processed');
                block.textContent = block.dataset.source;
            }
            await window.mermaid.run({ nodes: blocks });
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
