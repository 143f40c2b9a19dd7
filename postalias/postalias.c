/* placeholder replaced by the postconf work */
int main(void) { return 0; }
