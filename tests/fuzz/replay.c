/*
 * replay.c - runs a libFuzzer target over files without libFuzzer, so
 * every corpus entry and every past crasher is replayed in make test.
 *   fuzz_X FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		uint8_t *buf;
		long len;

		if (fp == NULL) {
			perror(argv[i]);
			return 1;
		}
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		fseek(fp, 0, SEEK_SET);
		buf = malloc(len > 0 ? (size_t)len : 1);
		if (buf == NULL || (len > 0 && fread(buf, 1, (size_t)len, fp) != (size_t)len)) {
			perror(argv[i]);
			return 1;
		}
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		n++;
	}
	printf("replayed %d inputs\n", n);
	return 0;
}
