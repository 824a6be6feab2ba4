"""The browsable site: the site folder's markdown (reports, index, chart pages, Extractor files) as static HTML."""

from trade_pipeline.site_html.build import BuildResult, build_site

__all__ = ["BuildResult", "build_site"]
