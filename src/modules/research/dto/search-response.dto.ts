import { ApiProperty } from '@nestjs/swagger';

export class WebResultDto {
  @ApiProperty({ description: 'Page title.', example: 'Circuit Breaker - Martin Fowler' })
  title!: string;

  @ApiProperty({ description: 'Page URL.', example: 'https://martinfowler.com/bliki/CircuitBreaker.html' })
  href!: string;

  @ApiProperty({ description: "The provider's snippet of the page.", example: 'You wrap a protected function call in a circuit breaker object…' })
  snippet!: string;

  @ApiProperty({ description: 'The provider that found it.', example: 'duckduckgo', enum: ['duckduckgo', 'searxng'] })
  source!: string;
}

export class WebSearchResponseDto {
  @ApiProperty({ description: 'Results in the provider\'s order, each URL once.', type: [WebResultDto] })
  items!: WebResultDto[];
}

export class ImageResultDto {
  @ApiProperty({ description: 'Image title.', example: 'Miniature circuit breaker' })
  title!: string;

  @ApiProperty({ description: 'URL of the image itself.', example: 'https://upload.wikimedia.org/wikipedia/commons/6/6a/Miniature_circuit_breaker.jpg' })
  image!: string;

  @ApiProperty({ description: 'URL of a thumbnail ("" when the provider has none).', example: 'https://tse1.mm.bing.net/th?id=OIP.aB1c&pid=Api' })
  thumbnail!: string;

  @ApiProperty({ description: 'The page that shows the image.', example: 'https://commons.wikimedia.org/wiki/File:Miniature_circuit_breaker.jpg' })
  url!: string;

  @ApiProperty({ description: 'Width in pixels, when known.', example: 1600, type: Number, nullable: true })
  width!: number | null;

  @ApiProperty({ description: 'Height in pixels, when known.', example: 1200, type: Number, nullable: true })
  height!: number | null;
}

export class ImageSearchResponseDto {
  @ApiProperty({ description: 'Images in the provider\'s order, each image URL once.', type: [ImageResultDto] })
  items!: ImageResultDto[];
}
